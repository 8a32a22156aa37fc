"""Workflow pages: the list, a workflow (draft, versions, runs), runs and the forms inbox.

Thin views: every change goes through `services` (the same functions the API calls)."""

import json
from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm import bulk
from crm.ids import parse_uuid
from crm.objects import OBJECTS
from crm.redirects import safe_next_url
from crm.views import member_required

from . import forms, selectors, services
from .builder import edits
from .builder.canvas import canvas_context
from .gallery import views as gallery_views
from .models import Workflow, WorkflowRun
from .validation import validate

PAGE_SIZE = 25


def manager_required(view):
    """Owners and admins only (SPEC section 2); members get a clear refusal."""

    @member_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.can_manage:
            messages.error(request, "Only owners and admins can change workflows.")
            if request.htmx:
                return HttpResponseForbidden("Only owners and admins can change workflows.")
            referer = request.META.get("HTTP_REFERER")
            return redirect(safe_next_url(request, referer, reverse("workflow-list")))
        return view(request, *args, **kwargs)

    return wrapper


def _workflow(request, pk) -> Workflow:
    return get_object_or_404(Workflow.objects.filter(workspace=request.workspace), pk=pk)


def _run(request, pk) -> WorkflowRun:
    return get_object_or_404(
        WorkflowRun.objects.filter(workspace=request.workspace).select_related(
            "workflow", "version", "started_by"
        ),
        pk=pk,
    )


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# --- workflows -------------------------------------------------------------------------------


# The list's columns (SPEC 8): a person shows or hides them (kept in the browser).
LIST_COLUMNS = (
    ("name", "Name"),
    ("trigger", "Trigger"),
    ("updated", "Last updated"),
    ("status", "Status"),
    ("runs", "Runs (last 7 days)"),
)


@member_required
def workflow_list(request):
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    workflows = selectors.with_recent_run_counts(
        selectors.workflows_in(request.workspace, search, status)
    ).prefetch_related("versions")
    context = {
        "page": _page(request, workflows),
        "search": search,
        "status": status,
        "columns": LIST_COLUMNS,
    }
    template = "workflows/_workflow_table.html" if request.htmx else "workflows/list.html"
    return render(request, template, context)


@manager_required
def workflow_create(request):
    """GET: the "New workflow" page (a name, or the template gallery); POST creates it."""
    if request.method == "POST":
        return gallery_views.create_from_form(request)
    return gallery_views.gallery_page(request)


@manager_required
@require_POST
def workflow_save_draft(request, pk):
    workflow = _workflow(request, pk)
    text = request.POST.get("graph", "")
    problems, error = [], ""
    try:
        graph = json.loads(text)
        edits.replace_graph(workflow, graph, user=request.user)
        problems = validate(graph)
    except json.JSONDecodeError as exc:
        error = f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    except services.WorkflowError as exc:
        error = str(exc)
    context = {"workflow": workflow, "problems": problems, "error": error, "saved": not error}
    if request.htmx:
        return render(request, "workflows/_problems.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Draft saved.")
    return redirect("workflow-detail", pk=workflow.pk)


def _lifecycle(request, pk, action, done: str):
    workflow = _workflow(request, pk)
    try:
        action(workflow)
    except services.WorkflowError as error:
        details = "; ".join(f"{p.step or 'graph'}: {p.message}" for p in error.problems[:5])
        messages.error(request, f"{error} {details}".strip())
    else:
        messages.success(request, done.format(name=workflow.name))
    detail = reverse("workflow-detail", args=[workflow.pk])
    return redirect(safe_next_url(request, request.POST.get("next"), detail))


@manager_required
@require_POST
def workflow_publish(request, pk):
    return _lifecycle(
        request,
        pk,
        lambda w: services.publish(w, request.user),
        "Published “{name}”: the new version is active.",
    )


@manager_required
@require_POST
def workflow_activate(request, pk):
    return _lifecycle(request, pk, services.activate, "“{name}” is active.")


@manager_required
@require_POST
def workflow_deactivate(request, pk):
    return _lifecycle(
        request,
        pk,
        services.deactivate,
        "“{name}” is inactive; runs in flight finish on their version.",
    )


@manager_required
@require_POST
def workflow_discard_draft(request, pk):
    return _lifecycle(request, pk, services.discard_draft, "Draft of “{name}” discarded.")


@manager_required
@require_POST
def workflow_restore(request, pk, number):
    return _lifecycle(
        request,
        pk,
        lambda w: services.restore_version(w, number),
        f"Version {number} copied into the draft.",
    )


@manager_required
@require_POST
def workflow_duplicate(request, pk):
    copy = services.duplicate_workflow(_workflow(request, pk), user=request.user)
    messages.success(request, f"Created “{copy.name}”.")
    return redirect("workflow-detail", pk=copy.pk)


@manager_required
@require_POST
def workflow_delete(request, pk):
    workflow = _workflow(request, pk)
    services.delete_workflow(workflow)
    messages.success(request, f"Deleted “{workflow.name}” and its runs.")
    return redirect("workflow-list")


@manager_required
@require_POST
def workflow_test(request, pk):
    workflow = _workflow(request, pk)
    try:
        payload = json.loads(request.POST.get("payload") or "{}")
        # An unticked checkbox sends nothing: absent means a normal test run.
        dry_run = request.POST.get("dry_run") == "on"
        run = services.start_test_run(workflow, payload, request.user, dry_run=dry_run)
    except json.JSONDecodeError as error:
        messages.error(request, f"The sample payload is not valid JSON: {error.msg}.")
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Dry run started." if dry_run else "Test run started.")
        return redirect("run-detail", pk=run.pk)
    return redirect("workflow-detail", pk=workflow.pk)


@member_required
@require_POST
def workflow_run(request, pk):
    """Starts a manual workflow, from a record page's bulk selection or the workflow page."""
    workflow = _workflow(request, pk)
    record_ids = request.POST.getlist("record_ids")
    try:
        if bulk.selects_all_matching(request.POST):
            record_ids = _all_matching_ids(request, workflow)
        runs = services.start_manual_runs(workflow, request.user, record_ids or None)
    except services.WorkflowError as error:
        messages.error(request, str(error))
        detail = reverse("workflow-detail", args=[pk])
        return redirect(safe_next_url(request, request.POST.get("next"), detail))
    if len(runs) == 1:
        messages.success(request, f"Started “{workflow.name}”.")
        return redirect("run-detail", pk=runs[0].pk)
    messages.success(request, f"Started {len(runs)} runs of “{workflow.name}”.")
    return redirect(f"{reverse('run-list')}?workflow={workflow.pk}")


def _all_matching_ids(request, workflow) -> list[str]:
    """ "Select all N matching" on a record list: the list's query found again (crm/bulk.py)."""
    version = workflow.active_version
    trigger = (version.graph.get("trigger") or {}) if version else {}
    obj = OBJECTS.get((trigger.get("settings") or {}).get("object"))
    if obj is None:
        raise services.WorkflowError("This workflow's trigger is not about records.")
    try:
        selected = bulk.selected_records(request.POST, request.workspace, obj, archived=False)
    except bulk.TooManyRecords as error:
        raise services.WorkflowError(str(error)) from error
    if not selected:
        raise services.WorkflowError(f"No {obj.label_plural.lower()} match the list any more.")
    return [str(record.pk) for record in selected]


# --- runs ------------------------------------------------------------------------------------


@member_required
def run_list(request):
    workflow = None
    if request.GET.get("workflow"):
        workflow = Workflow.objects.filter(
            workspace=request.workspace, pk=parse_uuid(request.GET["workflow"])
        ).first()
    runs = selectors.runs_in(
        request.workspace, workflow, request.GET.get("status", ""), request.GET.get("source", "")
    )
    context = {
        "page": _page(request, runs),
        "workflow": workflow,
        "status": request.GET.get("status", ""),
        "source": request.GET.get("source", ""),
        "statuses": WorkflowRun.Status.values,
        "sources": WorkflowRun.Source.values,
        "progress": selectors.run_progress(request.workspace, runs.values("pk")[:10000])
        if workflow
        else None,
    }
    template = "workflows/_run_table.html" if request.htmx else "workflows/runs.html"
    return render(request, template, context)


@member_required
def run_detail(request, pk):
    run = _run(request, pk)
    steps = list(selectors.run_steps(run))
    context = {
        "run": run,
        "steps": steps,
        "canvas": canvas_context(run.version.graph, step_runs=steps),
        "can_manage": request.membership.can_manage,
        "emails": run.emails.all()[:50],
    }
    template = "workflows/_run_steps.html" if request.htmx else "workflows/run.html"
    return render(request, template, context)


@manager_required
@require_POST
def run_cancel(request, pk):
    run = _run(request, pk)
    try:
        services.cancel_run(run)
        messages.success(
            request,
            "Run cancelled."
            if run.status == "cancelled"
            else "The run stops after its current step.",
        )
    except services.WorkflowError as error:
        messages.error(request, str(error))
    return redirect("run-detail", pk=run.pk)


@manager_required
@require_POST
def run_retry(request, pk):
    try:
        new_run = services.retry_run(_run(request, pk), user=request.user)
    except services.WorkflowError as error:
        messages.error(request, str(error))
        return redirect("run-detail", pk=pk)
    messages.success(request, "Retrying from the failed step.")
    return redirect("run-detail", pk=new_run.pk)


# --- forms -----------------------------------------------------------------------------------


@member_required
def form_inbox(request):
    pending = forms.pending_forms_for(request.workspace, request.user).select_related(
        "run__workflow"
    )
    cards = [{"form": form, "inputs": forms.inputs_for(form)} for form in pending]
    return render(request, "workflows/forms.html", {"cards": cards})


@member_required
def form_card(request, pk):
    """One pending form's card, fetched by the inbox when the form appears live."""
    form = get_object_or_404(forms.pending_forms_for(request.workspace, request.user), pk=pk)
    return render(
        request, "workflows/_form_card.html", {"form": form, "inputs": forms.inputs_for(form)}
    )


@member_required
@require_POST
def form_submit(request, pk):
    form = get_object_or_404(forms.pending_forms_for(request.workspace, request.user), pk=pk)
    values = {field["name"]: _posted_value(request, field) for field in form.fields}
    try:
        forms.submit_form(form, values, request.user)
    except forms.FormAlreadySubmitted as error:
        messages.error(request, str(error))
    except forms.FormInvalid as error:
        if request.htmx:
            return render(
                request,
                "workflows/_form_card.html",
                {
                    "form": form,
                    "errors": error.errors,
                    "inputs": forms.inputs_for(form, values),
                },
            )
        messages.error(request, "Please fix the highlighted fields.")
    else:
        messages.success(request, f"Thanks: “{form.title}” submitted; its workflow goes on.")
        if request.htmx:
            return render(request, "workflows/_form_done.html", {"form": form})
    return redirect("form-inbox")


def _posted_value(request, field: dict):
    if field.get("type") == "boolean":
        return request.POST.get(field["name"]) == "on"
    return request.POST.get(field["name"], "")
