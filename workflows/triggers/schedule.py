"""Schedule triggers (SPEC section 4): `cron` (five fields) or `every` {amount, unit}, in a
`timezone`. Payload: `scheduled_for`, the tick's time in that time zone.

Each active schedule workflow has one django-q2 `Schedule` row (named `workflow:<id>`) calling
`workflows.tasks.run_schedule(<id>)`. The rows follow the workflows: `sync_workflow_schedule`
runs on every `workflow_triggers_changed` signal (publish, activate, deactivate, delete), and
`reconcile_schedules` (every minute, from the sweep) repairs any drift, so no schedule outlives
its workflow.

django-q2 computes CRON times in the server's time zone and MINUTES as fixed steps, neither in
the workflow's zone, so the row is only an alarm clock: its `next_run` is set here to the next
true tick, and `fire_schedule` decides which tick is due.

- The run is for the latest tick at or before now that has not started a run yet
  (`ScheduleState.last_scheduled_for`, claimed with a compare-and-set in the same transaction
  as the run). Ticks missed while the cluster was down therefore start one run, not one per
  missed tick, whatever django-q2's `catch_up` says (we set catch_up=False: django-q2 then
  fires an overdue schedule once and moves `next_run` to the future).
- Ticks before the schedule was armed (published or activated) never fire.
- An inactive workflow never fires, and its leftover row is deleted when it wakes up.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from django.db import transaction
from django.utils import timezone

RUN_SCHEDULE = "workflows.tasks.run_schedule"
SWEEP = "workflows.tasks.sweep"
SWEEP_NAME = "workflows.sweep"
UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 60 * 24, "weeks": 60 * 24 * 7}
# django_q's Schedule.minutes is a PositiveSmallIntegerField.
MAX_FALLBACK_MINUTES = 32767


def schedule_problems(settings: dict) -> list[str]:
    """What the declaration (triggers.kinds) cannot say: cron or every, a valid cron and zone."""
    problems = []
    cron, every = settings.get("cron"), settings.get("every")
    if bool(cron) == bool(every):
        return ["Give either cron (five fields) or every {amount, unit}."]
    if isinstance(cron, str) and cron:
        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            problems.append(f"cron {cron!r} is not a valid five-field expression.")
    elif isinstance(every, dict) and every.get("amount") in (None, ""):
        problems.append("every.amount is required.")
    tz = settings.get("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        problems.append(f"Unknown time zone {tz!r}.")
    return problems


# --- ticks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticks:
    """The tick times of one schedule trigger, counted for `every` from `anchor`."""

    settings: dict
    anchor: datetime

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.settings.get("timezone") or "UTC")

    def latest(self, now: datetime) -> datetime | None:
        """The last tick at or before `now` (not before the anchor)."""
        if self.settings.get("cron"):
            start = (now + timedelta(microseconds=1)).astimezone(self.zone)
            tick = croniter(self.settings["cron"], start).get_prev(datetime)
        else:
            tick = self._every(now, step=0)
        return tick if tick is not None and tick > self.anchor else None

    def following(self, now: datetime) -> datetime:
        """The first tick after `now`."""
        if self.settings.get("cron"):
            return croniter(self.settings["cron"], now.astimezone(self.zone)).get_next(datetime)
        return self._every(now, step=1)

    def _every(self, now: datetime, step: int) -> datetime | None:
        every = self.settings["every"]
        interval = timedelta(minutes=every["amount"] * UNIT_MINUTES[every["unit"]])
        if every["unit"] in ("minutes", "hours"):
            count = (now - self.anchor) // interval + step
            return self.anchor + count * interval if count >= 1 else None
        # Days and weeks follow the wall clock of the zone, so 09:00 stays 09:00 across DST.
        anchor = self.anchor.astimezone(self.zone).replace(tzinfo=None)
        local_now = now.astimezone(self.zone).replace(tzinfo=None)
        count = (local_now - anchor) // interval + step
        if count < 1:
            return None if step == 0 else self._local(anchor + interval)
        tick = self._local(anchor + count * interval)
        if step == 0 and tick > now:  # a DST shift moved it past now
            return self._local(anchor + (count - 1) * interval) if count > 1 else None
        return tick

    def _local(self, wall_time: datetime) -> datetime:
        return wall_time.replace(tzinfo=self.zone)

    def fallback_minutes(self) -> int:
        """django-q2's own interval, used only if a firing failed to set the next tick."""
        every = self.settings.get("every")
        if not every:
            return 1
        return max(1, min(MAX_FALLBACK_MINUTES, every["amount"] * UNIT_MINUTES[every["unit"]]))


def schedule_name(workflow_id) -> str:
    return f"workflow:{workflow_id}"


# --- keeping django-q2 schedules in step with workflows -----------------------------------------


def active_schedule_version(workflow_id):
    from ..models import Workflow, WorkflowVersion

    return (
        WorkflowVersion.objects.filter(
            workflow_id=workflow_id,
            workflow__status=Workflow.Status.ACTIVE,
            status=WorkflowVersion.Status.ACTIVE,
            trigger_type="schedule",
        )
        .select_related("workflow")
        .first()
    )


def trigger_settings(version) -> dict:
    return ((version.graph or {}).get("trigger") or {}).get("settings") or {}


def sync_workflow_schedule(workflow_id) -> None:
    """Arms the workflow's schedule if it is an active schedule workflow (counting its ticks
    from now), and deletes it otherwise."""
    from ..models import ScheduleState

    version = active_schedule_version(workflow_id)
    if version is None:
        remove_schedule(workflow_id)
        return
    now = timezone.now()
    with transaction.atomic():
        ScheduleState.objects.update_or_create(
            workflow_id=workflow_id, defaults={"anchor": now, "last_scheduled_for": now}
        )
        _arm(workflow_id, Ticks(trigger_settings(version), now), now)


def remove_schedule(workflow_id) -> None:
    from django_q.models import Schedule

    Schedule.objects.filter(name=schedule_name(workflow_id), func=RUN_SCHEDULE).delete()


def _arm(workflow_id, ticks: Ticks, now: datetime) -> None:
    from django_q.models import Schedule

    values = {
        "func": RUN_SCHEDULE,
        "args": repr(str(workflow_id)),
        "schedule_type": Schedule.MINUTES,
        "minutes": ticks.fallback_minutes(),
        "repeats": -1,
        "next_run": ticks.following(now),
    }
    updated = Schedule.objects.filter(name=schedule_name(workflow_id)).update(**values)
    if not updated:
        Schedule.objects.create(name=schedule_name(workflow_id), **values)


def reconcile_schedules() -> None:
    """Every active schedule workflow has its row and no other workflow has one (repairs
    a lost signal, a crash between commit and sync, or an admin edit)."""
    from django_q.models import Schedule

    from ..models import ScheduleState, Workflow, WorkflowVersion

    active = set(
        WorkflowVersion.objects.filter(
            status=WorkflowVersion.Status.ACTIVE,
            trigger_type="schedule",
            workflow__status=Workflow.Status.ACTIVE,
        ).values_list("workflow_id", flat=True)
    )
    rows = dict(Schedule.objects.filter(func=RUN_SCHEDULE).values_list("name", "pk"))
    wanted = {schedule_name(workflow_id): workflow_id for workflow_id in active}
    Schedule.objects.filter(pk__in=[pk for name, pk in rows.items() if name not in wanted]).delete()
    armed = set(
        ScheduleState.objects.filter(workflow_id__in=active).values_list("workflow_id", flat=True)
    )
    for name, workflow_id in wanted.items():
        if name not in rows or workflow_id not in armed:
            sync_workflow_schedule(workflow_id)


def ensure_sweep_schedule() -> None:
    """The engine's own minute schedule: resumes due waiting runs, recovers runs of dead
    workers, fires date triggers and reconciles schedules. Idempotent."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SWEEP_NAME,
        defaults={"func": SWEEP, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )


# --- firing -------------------------------------------------------------------------------------


def fire_schedule(workflow_id, now: datetime | None = None):
    """Starts the run of the latest due tick, at most once per tick; returns it or None."""
    from .. import queue
    from ..models import ScheduleState, WorkflowRun

    now = now or timezone.now()
    version = active_schedule_version(workflow_id)
    if version is None:
        remove_schedule(workflow_id)
        return None
    state = ScheduleState.objects.filter(workflow_id=workflow_id).first()
    if state is None:  # armed by nobody (an admin-made row): arm now, fire from the next tick
        sync_workflow_schedule(workflow_id)
        return None
    ticks = Ticks(trigger_settings(version), state.anchor)
    tick = ticks.latest(now)
    run = None
    with transaction.atomic():
        if tick is not None and ScheduleState.objects.filter(
            workflow_id=workflow_id, last_scheduled_for__lt=tick
        ).update(last_scheduled_for=tick):
            payload = {"scheduled_for": tick.astimezone(ticks.zone).isoformat()}
            run = queue.start_run(version, payload, WorkflowRun.Source.TRIGGER)
        _arm(workflow_id, ticks, now)
    return run
