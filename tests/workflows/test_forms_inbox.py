"""The forms inbox (SPEC section 8): typed inputs for every field type, inline errors, and
the card the page fetches when a form appears live."""

import pytest
from django.test import Client

from workflows import queue

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

ALL_FIELDS = [
    {"name": "notes", "label": "Notes", "type": "textarea", "default": "so far"},
    {"name": "budget", "label": "Budget", "type": "number", "required": True, "default": 100},
    {"name": "due", "label": "Due", "type": "date", "default": "2026-12-24"},
    {"name": "fit", "label": "Fit", "type": "select", "default": "good",
     "options": ["good", {"value": "bad", "label": "Not a fit"}]},
    {"name": "ok", "label": "OK", "type": "boolean", "default": True},
    {"name": "company", "label": "Company", "type": "record", "object": "company"},
    {"name": "name", "label": "Name", "type": "text", "placeholder": "Ada", "default": "Ada L."},
]  # fmt: skip


def start_form_run(workspace, title="Qualify", fields=None, assignee=""):
    form_step = step(
        "ask",
        "form",
        {"title": title, "fields": fields or ALL_FIELDS[:2], "assignee": assignee},
    )
    workflow = published(workspace, graph(form_step))
    run = queue.start_run(workflow.active_version, {}, "manual")
    run.refresh_from_db()
    return run


def browser_for(user):
    client = Client()
    client.force_login(user)
    return client
