"""django-q2 entry points: each a few lines calling the worker loop."""

from . import queue, worker


def drain() -> int:
    """Claims and executes queued runs until the queue is empty."""
    return worker.drain()


def sweep() -> None:
    """Every minute: recover runs of dead workers, wake due waiting runs, fire date triggers,
    repair schedules that drifted from their workflows, forget old webhook delivery ids."""
    from .maintenance import prune_webhook_deliveries
    from .triggers.dates import fire_due_date_triggers
    from .triggers.datetime_at import fire_due_datetime_triggers
    from .triggers.schedule import reconcile_schedules

    reconcile_schedules()
    fire_due_date_triggers()
    fire_due_datetime_triggers()
    # Always: a lost kick must never strand `queued` runs (drain recovers and resumes first,
    # and an empty queue costs it one query).
    worker.drain()
    queue.schedule_next_resume()
    prune_webhook_deliveries()


def run_schedule(workflow_id: str) -> None:
    """Fired by a workflow's django-q2 schedule (at most one run per tick: see schedule.py)."""
    from .triggers.schedule import fire_schedule

    fire_schedule(workflow_id)
