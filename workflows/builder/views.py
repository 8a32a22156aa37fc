"""The builder page (SPEC 8.1) and its edit endpoints.

Every edit goes through `edits`; an HTMX edit answers the canvas partial (swapped into the
panzoom stage, so the view stays where it was) with out-of-band updates of the problems list
and the Undo/Redo buttons; a refused edit answers 4xx with its message and changes nothing.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm.views import member_required

from .. import selectors, services
from ..graph import Graph
from ..models import StepRun, WorkflowVersion
from ..steps import REGISTRY
from ..triggers.kinds import KINDS
from ..validation import validate
from ..views import _run, _workflow, manager_required
from . import edits, iterations
from .canvas import canvas_context, card_info
from .diff import changes
from .layout import TRIGGER
from .samples import sample_payload

GROUPS = ("Records", "Flow", "Outside", "People")


def picker_groups() -> list[dict]:
    groups = {name: [] for name in GROUPS}
    for step_type, handler in REGISTRY.items():
        groups.setdefault(handler.group or "Flow", []).append(
            {"type": step_type, "label": handler.label or step_type}
        )
    return [{"name": name, "types": types} for name, types in groups.items() if types]


def trigger_kinds() -> list[dict]:
    return [{"type": kind.type, "label": kind.label} for kind in KINDS.values()]


def _versions(workflow):
    return (
        WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False)
        .select_related("published_by")
        .order_by("-number")
    )


def _canvas(workflow, *, version=None, editable=False) -> dict:
    """The canvas of the draft (editable) or of a version (read-only). Read-only cards open
    their panel read-only (e.g. the webhook URL after publishing), of the version shown."""
    shown = version or workflow.draft
    graph = shown.graph if shown else {}
    problems = validate(graph) if shown and shown.status == "draft" else []
    return {
        "workflow": workflow,
        "canvas": canvas_context(graph, problems),
        "problems": problems,
        "editable": editable,
        "revision": shown.revision if shown and shown.status == "draft" else 0,
        "history": edits.history(workflow) if editable else {},
    }


@member_required
def builder_page(request, pk):
    workflow = _workflow(request, pk)
    tab = request.GET.get("tab", "builder")
    draft = workflow.draft
    versions = _versions(workflow)
    latest = versions.first()
    active = workflow.active_version
    can_manage = request.membership.can_manage
    viewing = None
    number = request.GET.get("version", "")
    if number.isascii() and number.isdigit():  # "²".isdigit() is true, and int("²") fails
        viewing = versions.filter(number=int(number)).first()
    shown = viewing or draft or active or latest
    editable = bool(draft and shown == draft and can_manage)
    context = {
        "workflow": workflow,
        "tab": tab,
        "draft": draft,
        "active": active,
        "latest": latest,
        "shown": shown,
        "viewing": viewing,
        "versions": versions,
        "can_manage": can_manage,
        "picker_groups": picker_groups(),
        "trigger_kinds": trigger_kinds(),
        "webhook_url": request.build_absolute_uri(f"/webhooks/{workflow.webhook_token}/"),
        **_canvas(workflow, version=shown, editable=editable),
        # A version viewed from the Versions tab: its cards open its own settings, read-only.
        "version_number": viewing.number if viewing else None,
    }
    if editable:
        context["sample_payload"] = sample_payload(workflow, draft.graph)
    if tab == "versions":
        context["version_rows"] = version_rows(list(versions))
    if tab == "runs":
        context["runs"] = selectors.runs_in(request.workspace, workflow=workflow)[:50]
    return render(request, "workflows/builder/page.html", context)


def version_rows(versions: list) -> list[dict]:
    """Each version with what changed against the one before it."""
    rows = []
    for n, version in enumerate(versions):
        before = versions[n + 1].graph if n + 1 < len(versions) else None
        rows.append({"version": version, "changes": changes(before, version.graph)})
    return rows


@member_required
def builder_canvas(request, pk):
    workflow = _workflow(request, pk)
    editable = bool(workflow.draft and request.membership.can_manage)
    return render(
        request, "workflows/builder/_edit_response.html", _canvas(workflow, editable=editable)
    )


def _answer(request, workflow, done: str = ""):
    if not request.htmx:
        if done:
            messages.success(request, done)
        return redirect("workflow-detail", pk=workflow.pk)
    context = {"workflow": workflow, **_canvas(workflow, editable=True), "done": done}
    return render(request, "workflows/builder/_edit_response.html", context)


def _refused(request, workflow, error: services.WorkflowError):
    status = 409 if isinstance(error, edits.DraftConflict) else 400
    if not request.htmx:
        messages.error(request, str(error))
        return redirect("workflow-detail", pk=workflow.pk)
    return HttpResponse(str(error), status=status, content_type="text/plain; charset=utf-8")


def _edit(request, pk, action, done: str = ""):
    workflow = _workflow(request, pk)
    revision = request.POST.get("revision") or None
    try:
        action(workflow, revision)
    except services.WorkflowError as error:
        return _refused(request, workflow, error)
    return _answer(request, workflow, done)


@manager_required
@require_POST
def insert(request, pk):
    return _edit(
        request,
        pk,
        lambda w, r: edits.insert_step(
            w, request.POST.get("at", ""), request.POST.get("type", ""), revision=r, user=request.user
        ),
    )  # fmt: skip


@manager_required
@require_POST
def choose_trigger(request, pk):
    return _edit(
        request,
        pk,
        lambda w, r: edits.set_trigger(
            w, {"type": request.POST.get("type", "")}, revision=r, user=request.user
        ),
    )


@manager_required
@require_POST
def delete(request, pk, step_id):
    return _edit(
        request, pk, lambda w, r: edits.delete_step(w, step_id, revision=r, user=request.user)
    )


@manager_required
@require_POST
def duplicate(request, pk, step_id):
    return _edit(
        request, pk, lambda w, r: edits.duplicate_step(w, step_id, revision=r, user=request.user)
    )


@manager_required
@require_POST
def move(request, pk, step_id):
    return _edit(
        request,
        pk,
        lambda w, r: edits.move_step(
            w, step_id, request.POST.get("to", ""), revision=r, user=request.user
        ),
    )


@manager_required
@require_POST
def paste(request, pk):
    return _edit(
        request,
        pk,
        lambda w, r: edits.paste_steps(
            w, request.POST.get("at", ""), request.POST.get("source", ""), revision=r,
            user=request.user,
        ),
    )  # fmt: skip


@manager_required
@require_POST
def undo(request, pk):
    return _edit(request, pk, lambda w, r: edits.undo(w, revision=r, user=request.user))


@manager_required
@require_POST
def redo(request, pk):
    return _edit(request, pk, lambda w, r: edits.redo(w, revision=r, user=request.user))


@manager_required
@require_POST
def start_draft(request, pk):
    """ "Edit in a new draft" (viewing never creates one; this does)."""
    workflow = _workflow(request, pk)
    edits.start_draft(workflow, user=request.user)
    return redirect("workflow-detail", pk=workflow.pk)


@manager_required
@require_POST
def restore(request, pk, number):
    """Restore version N into the draft, undoably (the builder's Versions tab)."""
    workflow = _workflow(request, pk)
    version = _versions(workflow).filter(number=number).first()
    if version is None:
        messages.error(request, f"Version {number} does not exist.")
    else:
        edits.replace_graph(workflow, version.graph, user=request.user)
        messages.success(request, f"Version {number} copied into the draft.")
    return redirect("workflow-detail", pk=workflow.pk)


@manager_required
@require_POST
def rename(request, pk):
    workflow = _workflow(request, pk)
    try:
        services.rename_workflow(workflow, request.POST.get("name", ""))
    except services.WorkflowError as error:
        messages.error(request, str(error))
        return redirect("workflow-detail", pk=workflow.pk)
    workflow.description = request.POST.get("description", "").strip()
    workflow.save(update_fields=["description", "updated_at"])
    messages.success(request, "Saved the name and description.")
    return redirect("workflow-detail", pk=workflow.pk)


@member_required
def run_canvas(request, pk):
    """The run view's canvas: the run's version with each card's status."""
    run = _run(request, pk)
    step_runs = list(
        StepRun.objects.filter(run=run).only("step_id", "scope", "status", "type", "output")
    )
    context = {"canvas": canvas_context(run.version.graph, step_runs=step_runs), "run": run}
    return render(request, "workflows/builder/_run_canvas.html", context)


MAX_DETAILS = 20  # step runs the details panel lists with "All" items chosen


@member_required
def run_step_details(request, pk, step_id):
    """A run view card's details in the side panel: its step runs (input, output, error,
    missing templates) for the items chosen in the Iteration selects (`scope`, e.g. "2.*")."""
    run = _run(request, pk)
    pattern = iterations.parse_pattern(request.GET.get("scope", ""))
    if pattern is None:
        return HttpResponse(
            "scope must be item numbers or * separated by dots, like 2.*",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    graph = Graph.parse(run.version.graph if isinstance(run.version.graph, dict) else {})
    if step_id != TRIGGER and step_id not in graph.steps:
        return HttpResponse(
            f"This run's workflow has no step '{step_id}'.",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    rows, more = selectors.step_runs_in_scopes(
        run, step_id, lambda scope: iterations.scope_matches(scope, pattern), MAX_DETAILS
    )
    card = card_info(step_id, graph.steps.get(step_id), graph)
    context = {
        "run": run,
        "step_id": step_id,
        "name": card["name"],
        "kind": card["kind"],
        "rows": rows,
        "more": more,
        "chosen": any(part != "*" for part in pattern),
    }
    return render(request, "workflows/builder/_run_step_details.html", context)


def builder_url(workflow) -> str:
    return reverse("workflow-detail", args=[workflow.pk])
