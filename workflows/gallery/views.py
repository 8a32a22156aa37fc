"""The page behind "New workflow" (SPEC 8.1 and 9): a blank workflow by name, or one from a
template of the gallery, searchable and filtered by category."""

from django.contrib import messages
from django.shortcuts import redirect, render

from .. import services
from ..steps import get_handler
from ..triggers.kinds import KINDS
from . import CATEGORIES, search


def gallery_page(request):
    query = request.GET.get("q", "").strip()
    category = request.GET.get("category", "")
    category = category if category in CATEGORIES else ""
    context = {
        "templates": [_shown(template) for template in search(query, category)],
        "categories": CATEGORIES,
        "search": query,
        "category": category,
    }
    page = "workflows/_gallery_results.html" if request.htmx else "workflows/gallery.html"
    return render(request, page, context)


def create_from_form(request):
    """POST of the page: `template` (a slug) when given, else a blank workflow named `name`."""
    slug = request.POST.get("template", "").strip()
    try:
        if slug:
            workflow = services.create_workflow_from_template(
                request.workspace, slug, name=request.POST.get("name"), user=request.user
            )
        else:
            # A blank workflow: its builder shows the trigger card "Choose a trigger" (SPEC 8.1).
            workflow = services.create_workflow(
                request.workspace,
                request.POST.get("name", ""),
                user=request.user,
                graph={"trigger": {}, "steps": [], "layout": {}},
            )
    except services.WorkflowError as error:
        messages.error(request, str(error))
        return redirect("workflow-create")
    if slug:
        messages.success(request, f"Created “{workflow.name}” from its template: fill in its "
                         "secrets and addresses, then publish.")  # fmt: skip
    else:
        messages.success(
            request, f"Created “{workflow.name}”. Add a trigger and steps to its draft."
        )
    return redirect("workflow-detail", pk=workflow.pk)


def _shown(template) -> dict:
    """What a gallery card shows: the template and its trigger and steps in words."""
    kind = KINDS.get(template.trigger_type)
    return {
        "template": template,
        "trigger": kind.label if kind else template.trigger_type,
        "steps": [
            {"name": step["name"], "type": _step_label(step["type"])} for step in template.steps()
        ],
    }


def _step_label(step_type: str) -> str:
    handler = get_handler(step_type)
    return handler.label if handler else step_type
