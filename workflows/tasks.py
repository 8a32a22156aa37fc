"""django-q2 entry points: each a few lines calling the engine."""

from . import dispatch


def drain() -> int:
    """Claims and executes queued runs until the queue is empty."""
    return dispatch.drain()


def sweep() -> None:
    """Every minute: recover runs of dead workers, wake due waiting runs, fire date triggers,
    repair schedules that drifted from their workflows."""
    from .triggers.schedule import reconcile_schedules

    reconcile_schedules()
    recovered = dispatch.recover_expired_leases()
    resumed = dispatch.resume_due_runs(kick_after=False)
    try:
        from .triggers.dates import fire_due_date_triggers
    except ImportError:  # pragma: no cover - date triggers not installed
        fire_due_date_triggers = None
    started = fire_due_date_triggers() if fire_due_date_triggers else 0
    if recovered or resumed or started:
        dispatch.drain()


def run_schedule(workflow_id: str) -> None:
    """Fired by a workflow's django-q2 schedule (at most one run per tick: see schedule.py)."""
    from .triggers.schedule import fire_schedule

    fire_schedule(workflow_id)
