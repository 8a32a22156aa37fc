"""`date_relative` triggers: one run per record and due time, following edited dates, never
firing for due times already past when the workflow became active."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from crm.models import Opportunity, Task
from workflows import tasks
from workflows.models import DateTriggerFiring, RunStatus, WorkflowRun
from workflows.triggers.dates import fire_due_date_triggers

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

PASS = step("remind", "filter", {"when": {"all": []}})


def date_workflow(
    workspace, obj="task", field="due_at", amount=1, unit="hours", direction="before"
):
    trigger = {
        "type": "date_relative",
        "settings": {
            "object": obj,
            "field": field,
            "offset": {"amount": amount, "unit": unit, "direction": direction},
        },
    }
    return published(workspace, graph(PASS, trigger=trigger))


def runs_of(workflow):
    return list(WorkflowRun.objects.filter(workflow=workflow).order_by("created_at"))


def test_a_task_reminder_starts_one_run_when_its_due_time_comes(workspace):
    workflow = date_workflow(workspace)  # 1 hour before due_at
    start = timezone.now()
    task = Task.objects.create(workspace=workspace, title="Call", due_at=start + timedelta(hours=2))
    assert fire_due_date_triggers(now=start + timedelta(minutes=30)) == 0
    assert fire_due_date_triggers(now=start + timedelta(hours=1, minutes=1)) == 1
    [run] = runs_of(workflow)
    assert run.status == RunStatus.COMPLETED
    assert run.trigger_payload["record"]["id"] == str(task.pk)
    assert run.trigger_payload["due"] == (task.due_at - timedelta(hours=1)).isoformat()


def test_each_due_time_fires_once_however_many_sweeps_see_it(workspace):
    workflow = date_workflow(workspace)
    start = timezone.now()
    Task.objects.create(workspace=workspace, title="Call", due_at=start + timedelta(hours=2))
    for minutes in (61, 62, 90, 240):
        fire_due_date_triggers(now=start + timedelta(minutes=minutes))
    assert len(runs_of(workflow)) == 1
    assert DateTriggerFiring.objects.filter(workflow=workflow).count() == 1


def test_an_edited_date_fires_at_its_new_due_time_and_never_at_the_old(workspace):
    workflow = date_workflow(workspace)
    start = timezone.now()
    task = Task.objects.create(workspace=workspace, title="Call", due_at=start + timedelta(hours=2))
    task.due_at = start + timedelta(hours=5)
    task.save()
    assert fire_due_date_triggers(now=start + timedelta(hours=1, minutes=1)) == 0
    assert fire_due_date_triggers(now=start + timedelta(hours=4, minutes=1)) == 1
    assert runs_of(workflow)[0].trigger_payload["due"] == (start + timedelta(hours=4)).isoformat()


def test_a_date_moved_after_it_fired_fires_again_at_the_new_time(workspace):
    workflow = date_workflow(workspace)
    start = timezone.now()
    task = Task.objects.create(workspace=workspace, title="Call", due_at=start + timedelta(hours=2))
    fire_due_date_triggers(now=start + timedelta(hours=1, minutes=1))
    task.due_at = start + timedelta(hours=3)
    task.save()
    fire_due_date_triggers(now=start + timedelta(hours=2, minutes=1))
    assert len(runs_of(workflow)) == 2


def test_due_times_already_past_at_activation_never_fire(workspace):
    Task.objects.create(workspace=workspace, title="Late", due_at=timezone.now())
    workflow = date_workflow(workspace, amount=0)
    assert fire_due_date_triggers(now=timezone.now() + timedelta(minutes=1)) == 0
    assert runs_of(workflow) == []


def test_a_close_date_counts_from_midnight_with_an_offset_after(workspace):
    workflow = date_workflow(workspace, "opportunity", "close_date", 2, "days", "after")
    close = timezone.localdate() + timedelta(days=1)
    Opportunity.objects.create(workspace=workspace, name="Deal", close_date=close)
    due = timezone.make_aware(datetime.combine(close, time())) + timedelta(days=2)
    assert fire_due_date_triggers(now=due - timedelta(minutes=1)) == 0
    assert fire_due_date_triggers(now=due + timedelta(minutes=1)) == 1
    assert runs_of(workflow)[0].trigger_payload["due"] == due.isoformat()


def test_records_without_a_date_and_of_other_workspaces_are_ignored(workspace):
    from tests.conftest import make_workspace

    date_workflow(workspace)
    start = timezone.now()
    Task.objects.create(workspace=workspace, title="No date")
    Task.objects.create(
        workspace=make_workspace("other"), title="Theirs", due_at=start + timedelta(hours=2)
    )
    assert fire_due_date_triggers(now=start + timedelta(hours=1, minutes=1)) == 0


def test_the_minute_sweep_fires_due_date_triggers(workspace):
    workflow = date_workflow(workspace, amount=0)
    Task.objects.create(workspace=workspace, title="Now", due_at=timezone.now())
    tasks.sweep()
    assert len(runs_of(workflow)) == 1
