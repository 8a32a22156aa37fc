"""`datetime` triggers (SPEC section 4): one run at a local date and time (`at`,
`YYYY-MM-DDTHH:MM`) in a `timezone`. Payload: `scheduled_for`, that moment in that zone.

`fire_due_datetime_triggers` runs every minute from the sweep. A `DateTriggerFiring` row
(workflow, no record, the moment) commits with the run, so the moment starts exactly one run:
also when two sweeps overlap, when the cluster was down at the moment (the next sweep after
the restart fires it, once), and when the same moment is published again. Publishing a new
`at` gives a new moment, which fires once more.
"""

import datetime as dt
import logging
import zoneinfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import queue
from ..models import DateTriggerFiring, Workflow, WorkflowRun, WorkflowVersion

logger = logging.getLogger(__name__)

AT_FORMAT = "%Y-%m-%dT%H:%M"
# The firing rows of `datetime` triggers have no record; date_relative's pruning skips them.
NO_RECORD = ""


def moment_of(settings: dict) -> dt.datetime | None:
    """The trigger's moment as an aware datetime, or None when the settings are unusable."""
    try:
        zone = zoneinfo.ZoneInfo(settings.get("timezone") or "UTC")
        local = dt.datetime.strptime(str(settings.get("at") or ""), AT_FORMAT)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return None
    return local.replace(tzinfo=zone)


def datetime_problems(settings: dict) -> list[str]:
    """What the declaration cannot say: the format of `at`, a known zone, not in the past."""
    at, tz = settings.get("at"), settings.get("timezone") or "UTC"
    problems = []
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        problems.append(f"Unknown time zone {tz!r}.")
    if not isinstance(at, str) or not at:
        return problems  # "at is required" comes from the declaration
    try:
        dt.datetime.strptime(at, AT_FORMAT)
    except ValueError:
        return [*problems, f"at {at!r} must be a local date and time, YYYY-MM-DDTHH:MM."]
    moment = moment_of(settings)
    if moment is not None and moment <= timezone.now():
        problems.append(f"at {at} ({tz}) is in the past; choose a later moment.")
    return problems


def fire_due_datetime_triggers(now: dt.datetime | None = None) -> int:
    """Starts the run of every active `datetime` workflow whose moment came and has not
    fired; returns how many started."""
    now = now or timezone.now()
    versions = WorkflowVersion.objects.filter(
        status=WorkflowVersion.Status.ACTIVE,
        trigger_type="datetime",
        workflow__status=Workflow.Status.ACTIVE,
    ).select_related("workflow")
    started = 0
    for version in versions:
        settings = ((version.graph or {}).get("trigger") or {}).get("settings") or {}
        moment = moment_of(settings)
        if moment is None or moment > now:
            continue
        started += _fire_once(version, moment)
    return started


def _fire_once(version: WorkflowVersion, moment: dt.datetime) -> int:
    workflow_id = version.workflow_id
    if DateTriggerFiring.objects.filter(
        workflow_id=workflow_id, record_id=NO_RECORD, due=moment
    ).exists():
        return 0
    try:
        with transaction.atomic():
            firing = DateTriggerFiring.objects.create(
                workflow_id=workflow_id, record_id=NO_RECORD, due=moment
            )
            payload = {"scheduled_for": moment.isoformat()}
            run = queue.start_run(version, payload, WorkflowRun.Source.TRIGGER)
            DateTriggerFiring.objects.filter(pk=firing.pk).update(run=run)
    except IntegrityError:  # another sweep fired it meanwhile
        return 0
    return 1
