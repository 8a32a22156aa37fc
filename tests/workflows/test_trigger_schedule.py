"""Schedule triggers: django-q2 schedules follow the workflows, ticks in a time zone, and a tick
starts one run however often (or late) the scheduler wakes the workflow up."""

from datetime import UTC, datetime, timedelta

import pytest
from django_q.models import OrmQ, Schedule

from workflows import services, tasks
from workflows.models import RunStatus, ScheduleState, WorkflowRun
from workflows.triggers.schedule import (
    RUN_SCHEDULE,
    SWEEP,
    Ticks,
    ensure_sweep_schedule,
    fire_schedule,
    reconcile_schedules,
    schedule_name,
)

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

PASS = step("tick", "filter", {"when": {"all": []}})
T0 = datetime(2025, 1, 15, 8, 17, 23, tzinfo=UTC)


def schedule_workflow(workspace, after_commit, **settings):
    trigger = {
        "type": "schedule",
        "settings": settings or {"every": {"amount": 1, "unit": "hours"}},
    }
    with after_commit():
        return published(workspace, graph(PASS, trigger=trigger))


def schedule_of(workflow):
    return Schedule.objects.filter(name=schedule_name(workflow.pk)).first()


def arm_at(workflow, moment):
    """As if the schedule had been armed at `moment`."""
    ScheduleState.objects.filter(workflow=workflow).update(anchor=moment, last_scheduled_for=moment)


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


# --- keeping schedules in step ----------------------------------------------------------------


def test_publishing_a_schedule_workflow_creates_its_schedule(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)
    row = schedule_of(workflow)
    assert row.func == RUN_SCHEDULE and row.args == repr(str(workflow.pk))
    assert row.schedule_type == Schedule.MINUTES and row.minutes == 60
    assert row.repeats == -1 and row.next_run > datetime.now(UTC)


def test_deactivating_the_workflow_removes_its_schedule(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)
    with after_commit():
        services.deactivate(workflow)
    assert schedule_of(workflow) is None


def test_activating_it_again_brings_the_schedule_back(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)
    with after_commit():
        services.deactivate(workflow)
    with after_commit():
        services.activate(workflow)
    assert schedule_of(workflow) is not None


def test_deleting_the_workflow_removes_its_schedule(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)
    with after_commit():
        services.delete_workflow(workflow)
    assert not Schedule.objects.filter(func=RUN_SCHEDULE).exists()


def test_publishing_a_version_with_another_trigger_removes_the_schedule(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)
    services.save_draft(workflow, graph(PASS))
    with after_commit():
        services.publish(workflow)
    assert schedule_of(workflow) is None


def test_reconcile_removes_orphans_and_restores_missing_schedules(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)
    schedule_of(workflow).delete()
    Schedule.objects.create(
        name="workflow:gone",
        func=RUN_SCHEDULE,
        args="'gone'",
        schedule_type=Schedule.MINUTES,
        minutes=5,
    )
    reconcile_schedules()
    assert schedule_of(workflow) is not None
    assert not Schedule.objects.filter(name="workflow:gone").exists()


def test_migrate_creates_the_minute_sweep_once(db):
    ensure_sweep_schedule()
    ensure_sweep_schedule()
    [sweep] = Schedule.objects.filter(func=SWEEP)
    assert sweep.schedule_type == Schedule.MINUTES and sweep.minutes == 1


# --- ticks ------------------------------------------------------------------------------------


def test_cron_ticks_follow_the_time_zone_across_daylight_saving():
    ticks = Ticks(
        {"cron": "0 9 * * *", "timezone": "Europe/Paris"}, anchor=T0 - timedelta(days=365)
    )
    winter = ticks.latest(datetime(2025, 1, 15, 8, 30, tzinfo=UTC))
    summer = ticks.latest(datetime(2025, 7, 15, 7, 30, tzinfo=UTC))
    assert winter == datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
    assert summer == datetime(2025, 7, 15, 7, 0, tzinfo=UTC)
    assert ticks.following(winter) == datetime(2025, 1, 16, 8, 0, tzinfo=UTC)


def test_every_ticks_count_from_when_the_schedule_was_armed():
    ticks = Ticks({"every": {"amount": 15, "unit": "minutes"}}, anchor=T0)
    assert ticks.latest(T0 + timedelta(minutes=14)) is None
    assert ticks.latest(T0 + timedelta(minutes=31)) == T0 + timedelta(minutes=30)
    assert ticks.following(T0 + timedelta(minutes=31)) == T0 + timedelta(minutes=45)


def test_daily_ticks_keep_their_wall_clock_time_across_daylight_saving():
    anchor = datetime(2025, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 in Paris (winter)
    ticks = Ticks({"every": {"amount": 1, "unit": "days"}, "timezone": "Europe/Paris"}, anchor)
    after_the_change = ticks.latest(datetime(2025, 4, 2, 12, 0, tzinfo=UTC))
    assert after_the_change == datetime(2025, 4, 2, 7, 0, tzinfo=UTC)  # 09:00 in Paris (summer)


# --- firing -----------------------------------------------------------------------------------


def test_a_due_tick_starts_one_run_with_scheduled_for(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit, cron="0 9 * * *", timezone="Europe/Paris")
    arm_at(workflow, T0 - timedelta(days=1))
    run = fire_schedule(workflow.pk, now=datetime(2025, 1, 15, 8, 0, 4, tzinfo=UTC))
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.trigger_payload == {"scheduled_for": "2025-01-15T09:00:00+01:00"}


def test_ticks_missed_while_the_cluster_was_down_start_one_run(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)  # every hour
    arm_at(workflow, T0)
    fire_schedule(workflow.pk, now=T0 + timedelta(hours=5, minutes=30))
    fire_schedule(workflow.pk, now=T0 + timedelta(hours=5, minutes=31))
    [run] = WorkflowRun.objects.filter(workflow=workflow)
    assert run.trigger_payload["scheduled_for"] == (T0 + timedelta(hours=5)).isoformat()


def test_a_tick_starts_one_run_however_often_the_scheduler_wakes_up(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)
    arm_at(workflow, T0)
    for seconds in (1, 2, 40, 300):
        fire_schedule(workflow.pk, now=T0 + timedelta(hours=1, seconds=seconds))
    fire_schedule(workflow.pk, now=T0 + timedelta(hours=2, seconds=1))
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 2


def test_ticks_before_the_schedule_was_armed_never_fire(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit, cron="0 * * * *")
    arm_at(workflow, datetime(2025, 1, 15, 8, 30, tzinfo=UTC))
    assert fire_schedule(workflow.pk, now=datetime(2025, 1, 15, 8, 59, tzinfo=UTC)) is None
    assert fire_schedule(workflow.pk, now=datetime(2025, 1, 15, 9, 0, 2, tzinfo=UTC))


def test_firing_sets_the_schedule_to_the_next_true_tick(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit, cron="0 9 * * *", timezone="Europe/Paris")
    arm_at(workflow, T0 - timedelta(days=1))
    fire_schedule(workflow.pk, now=datetime(2025, 7, 15, 7, 0, 3, tzinfo=UTC))
    assert schedule_of(workflow).next_run == datetime(2025, 7, 16, 7, 0, tzinfo=UTC)


def test_a_deactivated_workflow_never_fires_and_loses_a_leftover_schedule(workspace, after_commit):
    workflow = schedule_workflow(workspace, after_commit)
    services.deactivate(workflow)  # its on-commit sync never runs: the row is left over
    assert schedule_of(workflow) is not None
    tasks.run_schedule(str(workflow.pk))
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()
    assert schedule_of(workflow) is None


def test_django_q_fires_an_overdue_schedule_once_with_catch_up_off(
    workspace, after_commit, settings, monkeypatch
):
    from django_q import scheduler as django_q_scheduler
    from django_q.brokers.orm import ORM
    from django_q.scheduler import scheduler

    # It closes "old" connections first, which inside a test's transaction is this one.
    monkeypatch.setattr(django_q_scheduler, "close_old_django_connections", lambda: None)
    assert settings.Q_CLUSTER["catch_up"] is False
    workflow = schedule_workflow(workspace, after_commit)
    Schedule.objects.filter(pk=schedule_of(workflow).pk).update(
        next_run=datetime.now(UTC) - timedelta(hours=5, minutes=30)
    )
    broker = ORM()  # whatever the configured broker, count the enqueued tasks in the database
    scheduler(broker=broker)
    scheduler(broker=broker)
    tasks_ = [task for task in OrmQ.objects.all() if task.func() == RUN_SCHEDULE]
    assert len(tasks_) == 1  # one task for five and a half missed hours
    assert schedule_of(workflow).next_run > datetime.now(UTC)
