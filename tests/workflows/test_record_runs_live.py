"""A record page's "Workflow runs" card lives (SPEC section 8): the page listens to its
record, each run row carries its id and badge, and the cards a run may change are marked so
the page swaps them when a run about the record changes."""

import pytest
from django.test import Client

from workflows import queue
from workflows.live import events

from .helpers import graph, person, published, step

pytestmark = pytest.mark.django_db

MAKE_TASK = graph(
    step(
        "make",
        "create_record",
        {"object": "task", "values": {"title": "Call", "person": "{{trigger.record.id}}"}},
    ),
    trigger={"type": "manual", "settings": {"object": "person"}},
)


def test_the_record_page_listens_to_its_record_and_marks_its_live_cards(workspace, owner):
    ada = person(workspace)
    workflow = published(workspace, MAKE_TASK)
    run = queue.start_run(workflow.active_version, {"record": {"id": str(ada.pk)}}, "manual")
    client = Client()
    client.force_login(owner)
    html = client.get(f"/people/{ada.pk}/").content.decode()
    assert f'data-live-socket="/ws/live/?record={ada.pk}"' in html
    assert f'data-record-runs="/people/{ada.pk}/"' in html
    assert 'data-live-fragment="record-runs"' in html
    assert 'data-live-fragment="record-tasks"' in html
    assert f'data-run-id="{run.pk}"' in html and "data-run-badge" in html


def test_a_run_about_a_record_is_published_to_that_records_page(
    workspace, owner, published_events, django_capture_on_commit_callbacks
):
    ada = person(workspace)
    workflow = published(workspace, MAKE_TASK)
    with django_capture_on_commit_callbacks(execute=True):
        run = queue.start_run(workflow.active_version, {"record": {"id": str(ada.pk)}}, "manual")
    record_group = events.record_group(workspace.pk, str(ada.pk))
    statuses = [e["status"] for g, e in published_events.of_type("run") if g == record_group]
    assert statuses[-1] == "completed" and str(run.pk) in {
        e["run"] for g, e in published_events.of_type("run") if g == record_group
    }
