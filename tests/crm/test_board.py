"""The opportunities board (SPEC 8): a column per stage, moving a card changes its stage
through the record service (record triggers fire)."""

import re

import pytest
from django.test import Client

from crm.models import Opportunity
from tests.conftest import make_workspace
from tests.workflows.helpers import graph, published, step
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


def test_the_opportunities_list_links_to_the_board(browser):
    html = browser.get("/opportunities/").content.decode()
    assert re.search(r'<a class="btn" href="/opportunities/board/">.*Board</a>', html)


def test_the_board_has_a_column_per_stage_headed_by_its_label(browser, workspace):
    Opportunity.objects.create(workspace=workspace, name="Big deal", stage="proposal")
    html = browser.get("/opportunities/board/").content.decode()
    headings = re.findall(r'<h2 id="stage-(\w+)">([^<]+)</h2>', html)
    assert headings == [
        ("new", "New"), ("qualified", "Qualified"), ("meeting", "Meeting"),
        ("proposal", "Proposal"), ("won", "Won"), ("lost", "Lost"),
    ]  # fmt: skip
    proposal = html[html.index('data-stage="proposal"') : html.index('data-stage="won"')]
    assert "Big deal" in proposal


def test_moving_a_card_updates_the_stage_and_fires_record_triggers(
    browser, workspace, django_capture_on_commit_callbacks
):
    watcher = published(
        workspace,
        graph(
            step("f", "filter", {"when": {"all": []}}),
            trigger={
                "type": "record_updated",
                "settings": {"object": "opportunity", "fields": ["stage"]},
            },
        ),
    )
    deal = Opportunity.objects.create(workspace=workspace, name="Big deal")
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(f"/opportunities/{deal.pk}/stage/", {"stage": "won"})
    assert response.status_code == 200 and response.json()["stage"] == "won"
    deal.refresh_from_db()
    assert deal.stage == "won"
    (run,) = WorkflowRun.objects.filter(workflow=watcher)
    assert run.trigger_payload["changed_fields"] == ["stage"]


def test_an_unknown_stage_answers_400_with_a_message(browser, workspace):
    deal = Opportunity.objects.create(workspace=workspace, name="Big deal")
    response = browser.post(f"/opportunities/{deal.pk}/stage/", {"stage": "maybe"})
    assert response.status_code == 400 and "not a valid choice" in response.json()["detail"]


def test_another_workspaces_card_answers_404(browser):
    other = Opportunity.objects.create(workspace=make_workspace("other"), name="Theirs")
    assert browser.post(f"/opportunities/{other.pk}/stage/", {"stage": "won"}).status_code == 404
