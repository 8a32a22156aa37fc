"""The `datetime` trigger (SPEC section 4): once at a local date and time in a time zone,
exactly once even across restarts, and again only when published with a new `at`."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from workflows import services
from workflows.models import WorkflowRun
from workflows.services import WorkflowError
from workflows.tasks import sweep
from workflows.triggers.dates import fire_due_date_triggers
from workflows.triggers.datetime_at import fire_due_datetime_triggers

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

PASS = step("got", "filter", {"when": {"all": []}})
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def local(moment: datetime, zone=PARIS) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def at_graph(at: str, tz="Europe/Paris"):
    return graph(PASS, trigger={"type": "datetime", "settings": {"at": at, "timezone": tz}})


def tomorrow() -> datetime:
    return (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)


def runs(workflow):
    return list(WorkflowRun.objects.filter(workflow=workflow))


def test_nothing_fires_before_the_moment(workspace):
    at = tomorrow()
    workflow = published(workspace, at_graph(local(at)))
    assert fire_due_datetime_triggers(now=at - timedelta(minutes=1)) == 0
    assert runs(workflow) == []


def test_it_fires_once_at_the_local_moment_with_scheduled_for(workspace):
    at = tomorrow()
    workflow = published(workspace, at_graph(local(at)))
    assert fire_due_datetime_triggers(now=at) == 1
    assert fire_due_datetime_triggers(now=at + timedelta(minutes=1)) == 0
    (run,) = runs(workflow)
    assert run.source == WorkflowRun.Source.TRIGGER
    assert datetime.fromisoformat(run.trigger_payload["scheduled_for"]) == at
    assert run.trigger_payload["scheduled_for"].endswith(("+01:00", "+02:00"))


def test_the_time_zone_decides_the_moment(workspace):
    at = tomorrow()
    workflow = published(
        workspace, at_graph(local(at, zoneinfo.ZoneInfo("Asia/Tokyo")), "Asia/Tokyo")
    )
    assert fire_due_datetime_triggers(now=at - timedelta(seconds=1)) == 0
    assert fire_due_datetime_triggers(now=at) == 1
    assert len(runs(workflow)) == 1


def test_a_moment_missed_while_down_fires_once_after_the_restart(workspace):
    at = tomorrow()
    workflow = published(workspace, at_graph(local(at)))
    three_days_later = at + timedelta(days=3)
    assert fire_due_datetime_triggers(now=three_days_later) == 1
    fire_due_date_triggers(now=three_days_later + timedelta(days=3))  # prunes old date firings
    assert fire_due_datetime_triggers(now=three_days_later + timedelta(days=4)) == 0
    assert len(runs(workflow)) == 1


def test_the_minute_sweep_fires_it(workspace, monkeypatch):
    at = tomorrow()
    workflow = published(workspace, at_graph(local(at)))
    monkeypatch.setattr(timezone, "now", lambda: at + timedelta(seconds=30))
    sweep()
    assert len(runs(workflow)) == 1


def test_publishing_again_with_the_same_time_does_not_fire_again(workspace):
    at = tomorrow()
    workflow = published(workspace, at_graph(local(at)))
    fire_due_datetime_triggers(now=at)
    services.save_draft(workflow, at_graph(local(at)))
    services.publish(workflow)
    assert fire_due_datetime_triggers(now=at + timedelta(minutes=5)) == 0
    assert len(runs(workflow)) == 1


def test_publishing_again_with_a_new_time_fires_at_the_new_time(workspace):
    at = tomorrow()
    workflow = published(workspace, at_graph(local(at)))
    fire_due_datetime_triggers(now=at)
    later = at + timedelta(hours=2)
    services.save_draft(workflow, at_graph(local(later)))
    services.publish(workflow)
    assert fire_due_datetime_triggers(now=later - timedelta(minutes=1)) == 0
    assert fire_due_datetime_triggers(now=later) == 1
    assert len(runs(workflow)) == 2


def test_an_inactive_workflow_does_not_fire(workspace):
    at = tomorrow()
    workflow = published(workspace, at_graph(local(at)))
    services.deactivate(workflow)
    assert fire_due_datetime_triggers(now=at) == 0


def test_a_moment_in_the_past_is_a_problem_at_publish(workspace):
    past = timezone.now() - timedelta(hours=1)
    with pytest.raises(WorkflowError) as raised:
        published(workspace, at_graph(local(past)))
    assert any("in the past" in p.message for p in raised.value.problems)


@pytest.mark.parametrize(
    ("trigger_settings", "message"),
    [
        ({"at": "tomorrow at nine", "timezone": "UTC"}, "YYYY-MM-DDTHH:MM"),
        ({"at": "2099-01-01T09:00", "timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"timezone": "UTC"}, "at is required"),
    ],
)
def test_bad_settings_are_validation_problems(trigger_settings, message):
    from workflows.validation import validate

    problems = validate(graph(PASS, trigger={"type": "datetime", "settings": trigger_settings}))
    assert any(message in p.message for p in problems), problems
