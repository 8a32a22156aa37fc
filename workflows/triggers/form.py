"""`form_submitted` triggers (SPEC sections 4 and 8): a public intake form at `/f/<token>/`
(the workflow's `webhook_token`: one address token per workflow, rotated with
`rotate_address_token`). Payload: `values` (typed as the `form` step types them), and
`submitted_at`.

The page (workflows/intake_views.py) calls `find_intake_form` and `submit_intake_form`; the
per-address rate limit is `intake_limiter`.
"""

import math
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.utils import timezone

from .. import queue
from ..forms import FormInvalid, clean_values
from ..models import Workflow, WorkflowRun, WorkflowVersion, new_token

DEFAULT_THANK_YOU = "Thank you! We received your answers."
PUBLIC_FIELD_TYPES = ("text", "textarea", "number", "date", "select", "boolean")


def intake_problems(settings_: dict) -> list[str]:
    """What the declaration cannot say: the fields as the `form` step checks them, and no
    record pickers (a public page must not list the workspace's records)."""
    from ..steps.form import field_problems

    fields = settings_.get("fields")
    problems = field_problems(fields) if fields not in (None, "", []) else []
    for index, field in enumerate(fields if isinstance(fields, list) else []):
        if isinstance(field, dict) and field.get("type") == "record":
            problems.append(
                f"fields.{index}.type: a public form cannot pick records; use "
                f"{', '.join(PUBLIC_FIELD_TYPES)}."
            )
    return problems


@dataclass(frozen=True)
class IntakeForm:
    version: WorkflowVersion
    settings: dict

    @property
    def workflow(self) -> Workflow:
        return self.version.workflow

    @property
    def fields(self) -> list[dict]:
        return [f for f in self.settings.get("fields") or [] if isinstance(f, dict)]

    @property
    def title(self) -> str:
        return self.settings.get("title") or self.workflow.name

    @property
    def submit_label(self) -> str:
        return self.settings.get("submit_label") or "Submit"

    @property
    def thank_you(self) -> str:
        return self.settings.get("thank_you") or DEFAULT_THANK_YOU


def find_intake_form(token: str) -> IntakeForm | None:
    """The active `form_submitted` workflow at this token, or None (the page answers 404)."""
    version = (
        WorkflowVersion.objects.filter(
            workflow__webhook_token=token,
            workflow__status=Workflow.Status.ACTIVE,
            status=WorkflowVersion.Status.ACTIVE,
            trigger_type="form_submitted",
        )
        .select_related("workflow", "workflow__workspace")
        .first()
    )
    if version is None:
        return None
    trigger = (version.graph or {}).get("trigger") or {}
    return IntakeForm(version, trigger.get("settings") or {})


def submit_intake_form(form: IntakeForm, values: dict) -> WorkflowRun:
    """Types and checks the values (FormInvalid with a message per field), then stores the
    run. Nothing is stored when a value is bad."""
    checked = clean_values(
        SimpleNamespace(fields=form.fields, workspace=form.workflow.workspace), values
    )
    payload = {"values": checked, "submitted_at": timezone.now().isoformat()}
    return queue.start_run(form.version, payload, WorkflowRun.Source.TRIGGER)


def values_from_post(form: IntakeForm, post) -> dict:
    """The posted fields of the form only (a checkbox left unticked posts nothing)."""
    values = {}
    for field in form.fields:
        name = field.get("name")
        if field.get("type") == "boolean":
            values[name] = name in post
        elif name in post:
            values[name] = post.get(name)
    return values


def rotate_address_token(workflow: Workflow) -> str:
    """A new address for the workflow's webhook and public form; the old one answers 404."""
    workflow.webhook_token = new_token()
    workflow.save(update_fields=["webhook_token", "updated_at"])
    return workflow.webhook_token


# --- rate limit ---------------------------------------------------------------------------------


class AddressLimiter:
    """At most `WORKFLOW_FORM_RATE_LIMIT` submissions per client address per clock minute,
    counted in this process (like the webhook limiter)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def retry_after(self, address: str, now: float | None = None) -> int | None:
        now = time.time() if now is None else now
        limit = getattr(settings, "WORKFLOW_FORM_RATE_LIMIT", 10)
        window = int(now // 60)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            count = self._counts.get(address, 0)
            if count >= limit:
                return max(1, math.ceil((window + 1) * 60 - now))
            self._counts[address] = count + 1
        return None

    def reset(self) -> None:
        with self._lock:
            self._window, self._counts = -1, {}


intake_limiter = AddressLimiter()

__all__ = ["FormInvalid", "find_intake_form", "submit_intake_form", "intake_limiter"]
