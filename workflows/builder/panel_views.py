"""The settings panel's endpoint: `GET/POST /workflows/<id>/builder/steps/<step_id>/panel/`
(`step_id` "trigger" for the trigger), an HTMX fragment beside the canvas.

GET draws the panel. POST reads the form (`panel_parse`) and saves it through the one edit
service (`edits.update_step` / `edits.set_trigger`), then draws it again with validation's
messages on their inputs and fires `builder:changed` (HX-Trigger) so the canvas redraws. A POST
with `_action` (Add condition, Add branch, Add field, Remove …, or a changed object) only draws
the form again with the change, saving nothing.
"""

import json
import zoneinfo
from functools import cache

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST

from crm.views import member_required

from .. import services
from ..models import Secret, WorkflowRun
from ..settings_schema import ON_ERROR
from ..triggers import webhook
from ..validation import validate
from ..views import _workflow, manager_required
from . import edits
from .panel import build_panel, schema_of
from .panel_actions import apply_action
from .panel_parse import MISSING, SettingsParser, unflatten
from .variables import matching, variables_for

CHANGED_EVENT = "builder:changed"
MAX_VARIABLES = 150


def _shown_graph(workflow, number: int | None = None):
    """The draft, else the version the builder shows read-only (no draft is made by looking);
    with `number`, that published version, read-only (None, None, False if there is none)."""
    if number is not None:
        version = services.versions_of(workflow).filter(number=number).first()
        return version, (version.graph if version else None), False
    draft = workflow.draft
    if draft is not None:
        return draft, draft.graph, True
    version = edits.base_version(workflow)
    return version, (version.graph if version else {}), False


def _find_step(graph: dict, step_id: str) -> dict | None:
    if step_id == "trigger":
        trigger = graph.get("trigger")
        return trigger if isinstance(trigger, dict) else {"type": None, "settings": {}}
    for step in graph.get("steps") or []:
        if isinstance(step, dict) and step.get("id") == step_id:
            return step
    return None


def _messages(graph: dict, step_id: str) -> list[str]:
    return [p.message for p in validate(graph) if p.step == step_id]


def _last_run(workflow):
    """The last test run (else the last run) whose outputs fill the variable picker."""
    runs = WorkflowRun.objects.filter(workflow=workflow, workspace=workflow.workspace)
    runs = runs.order_by("-created_at").prefetch_related("steps")
    return runs.filter(source=WorkflowRun.Source.TEST).first() or runs.first()


def _variables(workflow, graph, step_id):
    names = Secret.objects.filter(workspace=workflow.workspace).values_list("name", flat=True)
    return variables_for(graph, step_id, last_run=_last_run(workflow), secret_names=sorted(names))


def _render(request, workflow, graph, step_id, step, *, editable, revision, status=200, **extra):
    panel = build_panel(
        step_id,
        step,
        settings=extra.pop("settings", None),
        messages=extra.pop("messages", ()),
        parse_errors=extra.pop("parse_errors", None),
    )
    if "name" in extra:
        panel.name = extra.pop("name")
    context = {
        "workflow": workflow,
        "panel": panel,
        "editable": editable,
        "revision": revision,
        "can_manage": request.membership.can_manage,
        "webhook_url": request.build_absolute_uri(f"/webhooks/{workflow.webhook_token}/"),
        "form_url": request.build_absolute_uri(f"/f/{workflow.webhook_token}/"),
        "timezones": _timezones() if _has_kind(panel, "timezone") else (),
        **extra,
    }
    return render(request, "workflows/builder/_panel.html", context, status=status)


@cache
def _timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _has_kind(panel, kind: str) -> bool:
    def walk(inputs):
        return any(i.kind == kind or walk(i.children) for i in inputs)

    return walk(panel.inputs)


def _refusal(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@member_required
def step_panel(request, pk, step_id):
    workflow = _workflow(request, pk)
    if request.method == "POST":
        return _post(request, pk, step_id)
    number = request.GET.get("version", "")
    # The length cap keeps int() from refusing a huge string (Python's 4300-digit limit).
    if number and not (number.isascii() and number.isdigit() and len(number) <= 20):
        return _refusal("version must be a version number, like 3.", 400)
    shown, graph, is_draft = _shown_graph(workflow, int(number) if number else None)
    if graph is None:
        return _refusal(f"This workflow has no version {number}.", 404)
    step = _find_step(graph, step_id)
    if step is None:
        return _refusal(f"This workflow has no step '{step_id}'.", 404)
    editable = is_draft and request.membership.can_manage
    return _render(
        request,
        workflow,
        graph,
        step_id,
        step,
        editable=editable,
        revision=shown.revision if is_draft else "",
        messages=_messages(graph, step_id) if is_draft else (),
    )


@manager_required
def _post(request, pk, step_id):
    workflow = _workflow(request, pk)
    shown, graph, is_draft = _shown_graph(workflow)
    step = _find_step(graph, step_id)
    if step is None:
        return _refusal(f"This workflow has no step '{step_id}'.", 404)
    schema = schema_of(step_id, step.get("type"))
    if schema is None:
        return _refusal(f"Unknown type {step.get('type')!r}: choose the step's type again.", 400)
    action = request.POST.get("_action", "")
    parser = SettingsParser(keep_blank=bool(action))
    tree = unflatten(request.POST)
    settings = parser.settings(schema, tree, step.get("settings"))
    on_error = MISSING
    if step_id != "trigger":
        on_error = parser.value(ON_ERROR, tree.get("on_error"), step.get("on_error"), "on_error")
    name = request.POST.get("name", step.get("name") or "")
    revision = request.POST.get("revision") or None
    common = {"editable": True, "revision": revision or (shown.revision if is_draft else "")}

    if action:  # redraw with a row added or removed (or another object), nothing saved
        settings = apply_action(schema, settings, action)
        draft_step = {**step, "on_error": None if on_error is MISSING else on_error}
        return _render(
            request, workflow, graph, step_id, draft_step, settings=settings, name=name, **common
        )
    if parser.errors:
        return _render(
            request, workflow, graph, step_id, step, settings=settings, name=name,
            parse_errors=parser.errors, **common,
        )  # fmt: skip
    try:
        draft = _save(workflow, step_id, step, settings, on_error, name, revision, request.user)
    except edits.DraftConflict as conflict:
        return _refusal(str(conflict), 409)
    except services.WorkflowError as error:
        return _render(
            request, workflow, graph, step_id, step, settings=settings, name=name,
            messages=[str(error)], **common,
        )  # fmt: skip
    saved_step = _find_step(draft.graph, step_id)
    messages = _messages(draft.graph, step_id)
    response = _render(
        request, workflow, draft.graph, step_id, saved_step, editable=True,
        revision=draft.revision, messages=messages, saved=True, has_errors=bool(messages),
    )  # fmt: skip
    response["HX-Trigger"] = json.dumps(
        {CHANGED_EVENT: {"step": step_id, "revision": draft.revision}}
    )
    return response


def _save(workflow, step_id, step, settings, on_error, name, revision, user):
    if step_id == "trigger":
        return edits.set_trigger(
            workflow, {"type": step.get("type"), "settings": settings}, revision=revision, user=user
        )
    if on_error is MISSING:
        on_error = {} if step.get("on_error") else None
    return edits.update_step(
        workflow, step_id, name=name, settings=settings, on_error=on_error,
        revision=revision, user=user,
    )  # fmt: skip


@manager_required
@require_POST
def rotate_webhook_secret(request, pk):
    """Rotate secret (admins): a new `webhook_secret`, shown once in the trigger's panel."""
    workflow = _workflow(request, pk)
    secret = webhook.rotate_webhook_secret(workflow)
    shown, graph, is_draft = _shown_graph(workflow)
    return _render(
        request, workflow, graph, "trigger", _find_step(graph, "trigger"), editable=is_draft,
        revision=shown.revision if is_draft else "", messages=_messages(graph, "trigger"),
        new_secret=secret,
    )  # fmt: skip


@member_required
def step_variables(request, pk, step_id):
    """The variable picker's entries for a step, matching every word of `q` (path, type or
    source), nearest first; loaded when the picker opens, so drawing a panel stays cheap."""
    workflow = _workflow(request, pk)
    shown, graph, is_draft = _shown_graph(workflow)
    if _find_step(graph, step_id) is None:
        return _refusal(f"This workflow has no step '{step_id}'.", 404)
    found = matching(_variables(workflow, graph, step_id), request.GET.get("q", ""))
    context = {"variables": found[:MAX_VARIABLES], "more": max(0, len(found) - MAX_VARIABLES)}
    return render(request, "workflows/builder/_variable_list.html", context)


# Included under workflows/<uuid:pk>/builder/.
urlpatterns = [
    path("steps/<slug:step_id>/panel/", step_panel, name="builder-step-panel"),
    path("steps/<slug:step_id>/variables/", step_variables, name="builder-step-variables"),
    path("webhook/secret/", rotate_webhook_secret, name="builder-webhook-secret"),
]
