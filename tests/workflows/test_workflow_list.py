"""The workflows list (SPEC 8 and 8.1): its columns, runs of the last 7 days, and the "⋯"
row menu named Actions with Edit, Activate or Deactivate, Duplicate and Delete."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from workflows import queue
from workflows.models import WorkflowRun

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

PASS = graph(step("got", "filter", {"when": {"all": []}}))


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


def test_the_list_has_the_columns_a_person_can_show_or_hide(browser, workspace):
    published(workspace, PASS, name="Lead capture")
    html = browser.get("/workflows/").content.decode()
    headers = re.findall(r"<th class=\"col-(\w+)[^>]*>([^<]*)<", html)
    assert [label for _, label in headers][:5] == [
        "Name", "Trigger", "Last updated", "Status", "Runs (last 7 days)",
    ]  # fmt: skip
    for label in ("Trigger", "Last updated", "Status", "Runs (last 7 days)"):
        assert f"> {label}</label>" in html
    assert "New workflow" in html


def test_the_runs_column_counts_the_last_seven_days_only(browser, workspace):
    workflow = published(workspace, PASS, name="Counted")
    old, *_ = [queue.start_run(workflow.active_version, {}, "manual") for _ in range(3)]
    WorkflowRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    html = browser.get("/workflows/").content.decode()
    assert re.search(r'<td class="col-runs"><a [^>]*>2</a></td>', html), html


def test_each_row_has_an_actions_menu_with_its_items(browser, workspace):
    published(workspace, PASS, name="Lead capture")
    html = browser.get("/workflows/").content.decode()
    assert re.search(
        r'<button[^>]*aria-label="Actions"[^>]*aria-haspopup="menu"[^>]*>⋯</button>', html
    )
    menu = html[html.index('role="menu" id="menu-') :]
    items = re.findall(r'role="menuitem"[^>]*>([^<]+)<', menu)
    assert items[:4] == ["Edit", "Deactivate", "Duplicate", "Delete"]
    assert "data-confirm=" in menu


def test_an_inactive_workflow_offers_activate(browser, workspace):
    from workflows import services

    services.deactivate(published(workspace, PASS, name="Paused"))
    html = browser.get("/workflows/").content.decode()
    assert re.findall(r'role="menuitem"[^>]*>([^<]+)<', html)[1] == "Activate"
