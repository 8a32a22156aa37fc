"""Switches and hooks that record triggers (SPEC section 4, "Triggers") plug into.

Record triggers listen to `post_save`/`post_delete`. Two things bypass or tune that:

- an import told not to fire triggers (`fire_triggers=false`, SPEC section 7) runs inside
  `triggers_suppressed()`; trigger code asks `triggers_are_suppressed()` before firing;
- bulk inserts (CSV import) send no `post_save`, so they call `records_bulk_created(...)`.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from django.dispatch import Signal

# A ContextVar rather than a thread-local: it is per thread *and* per asyncio task, so an
# import running in one request never silences triggers of another request.
_suppressed: ContextVar[bool] = ContextVar("record_triggers_suppressed", default=False)

# Sent by `records_bulk_created(model, instances)` with sender=model and `instances`; record
# triggers (workflows/triggers/records.py) receive it.
bulk_created = Signal()


@contextmanager
def triggers_suppressed() -> Iterator[None]:
    """Within this block, record writes do not start record-triggered workflows.

    Nestable; the previous state is restored on exit, also on error.
    """
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def triggers_are_suppressed() -> bool:
    """True inside `triggers_suppressed()`. Checked when a record signal is received (which is
    inside the writing transaction), not when that transaction commits."""
    return _suppressed.get()


def records_bulk_created(model: type[models.Model], instances: Sequence[models.Model]) -> None:
    """Called after `bulk_create` inserted `instances` of a record `model` (which sends no
    `post_save`), inside the transaction that inserted them, like `post_save` would be.

    Record triggers plug in here through the `bulk_created` signal: each instance counts as
    created. Receivers should check `triggers_are_suppressed()` and defer work with
    `transaction.on_commit`, as for `post_save`.
    """
    bulk_created.send(sender=model, instances=instances)


# Set on a record instance by the archive and restore services (crm/records.py) just before
# its save: record triggers then see that save as `archived` or `restored`, not as an update.
LIFECYCLE_EVENT = "_record_lifecycle_event"
ARCHIVED, RESTORED = "archived", "restored"


def mark_lifecycle_event(instance: models.Model, event: str) -> None:
    instance.__dict__[LIFECYCLE_EVENT] = event


def pop_lifecycle_event(instance: models.Model) -> str | None:
    return instance.__dict__.pop(LIFECYCLE_EVENT, None)
