"""Signals other apps plug into, so `crm` never imports them (the workflows app listens)."""

from django.dispatch import Signal

# Sent by `create_workspace` inside its transaction, with `workspace` and `owner` (a user or
# None), every time it is called (it is idempotent, so receivers must be too): the workflows
# app installs the default workflows on it.
workspace_created = Signal()

# Sent while a record's detail page is built, with `workspace` and `record`; each receiver
# returns a dict of extra template context (the workflows app adds `record_runs`).
record_page_shown = Signal()


def record_page_context(workspace, record) -> dict:
    context: dict = {}
    for _, extra in record_page_shown.send(sender=type(record), workspace=workspace, record=record):
        context |= extra or {}
    return context
