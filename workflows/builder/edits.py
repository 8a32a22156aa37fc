"""The one service every draft edit goes through: the builder's clicks, the settings panel and
the API's draft PUT (SPEC 8.1: "every edit is saved to the draft at once").

`edit_draft` locks the workflow, refuses an edit made on a stale copy (`revision`), applies a
change to a copy of the graph, checks its shape, pushes the graph as it was onto the undo stack
(clearing redo) and saves. Undo and redo are stacks of draft snapshots in the database, so an
undo survives a reload. A workflow with no draft gets one from its latest version on the first
edit (viewing never creates a draft).
"""

import copy
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from ..graph import empty_graph
from ..models import DraftSnapshot, Workflow, WorkflowVersion
from ..services import WorkflowError, check_graph_shape, versions_of
from ..settings_schema import defaults
from ..steps import get_handler
from ..triggers.kinds import get_kind
from . import surgery
from .surgery import EditError

UNDO_LIMIT = 100
CONFLICT = "This draft changed, reload."


class DraftConflict(WorkflowError):
    """The edit was made on a copy of the draft that is no longer current (views answer 409)."""

    def __init__(self, message: str = CONFLICT):
        super().__init__(message)


def base_version(workflow: Workflow) -> WorkflowVersion | None:
    """The version a new draft starts from: the active one, else the latest published."""
    return (
        versions_of(workflow).filter(status=WorkflowVersion.Status.ACTIVE).first()
        or versions_of(workflow).exclude(number=None).order_by("-number").first()
    )


def current_revision(workflow: Workflow) -> int:
    draft = workflow.draft
    return draft.revision if draft else 0


def _locked_draft(workflow: Workflow, revision) -> WorkflowVersion | None:
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    draft = (
        versions_of(workflow)
        .select_for_update()
        .filter(status=WorkflowVersion.Status.DRAFT)
        .first()
    )
    if revision not in (None, ""):
        try:
            revision = int(revision)
        except (TypeError, ValueError):
            raise WorkflowError("revision must be a number.") from None
        if revision != (draft.revision if draft else 0):
            raise DraftConflict()
    return draft


def _push(workflow: Workflow, stack: str, graph: dict) -> None:
    DraftSnapshot.objects.create(workflow=workflow, stack=stack, graph=graph)
    stale = (
        DraftSnapshot.objects.filter(workflow=workflow, stack=stack)
        .order_by("-id")
        .values_list("id", flat=True)[UNDO_LIMIT:]
    )
    if stale:
        DraftSnapshot.objects.filter(id__in=list(stale)).delete()


def _save(workflow: Workflow, draft: WorkflowVersion, graph: dict) -> WorkflowVersion:
    draft.graph = graph
    draft.revision = (draft.revision or 0) + 1
    draft.save()
    Workflow.objects.filter(pk=workflow.pk).update(updated_at=timezone.now())
    return draft


@transaction.atomic
def edit_draft(
    workflow: Workflow,
    change: Callable[[dict], dict],
    *,
    revision=None,
    user=None,
) -> WorkflowVersion:
    """Applies `change` (graph -> new graph) to the draft and saves it, undoably."""
    draft = _locked_draft(workflow, revision)
    if draft is None:
        # A new draft starts a new history: earlier snapshots belong to a published version.
        DraftSnapshot.objects.filter(workflow=workflow).delete()
        base = base_version(workflow)
        before = copy.deepcopy(base.graph) if base else empty_graph()
        draft = WorkflowVersion(workflow=workflow, graph=before)
        pushed = False
    else:
        before = draft.graph
        pushed = True
    try:
        graph = change(copy.deepcopy(before))
    except EditError as error:
        raise WorkflowError(str(error)) from None
    check_graph_shape(graph)
    if draft.pk and graph == before:
        return draft
    if pushed:
        _push(workflow, DraftSnapshot.Stack.UNDO, before)
        DraftSnapshot.objects.filter(workflow=workflow, stack=DraftSnapshot.Stack.REDO).delete()
    return _save(workflow, draft, graph)


def start_draft(workflow: Workflow, *, user=None) -> WorkflowVersion:
    """ "Edit in a new draft": the draft, made from the latest version if there is none."""
    return workflow.draft or edit_draft(workflow, lambda graph: graph, user=user)


def _step_back(workflow: Workflow, take: str, put: str, revision, nothing: str) -> WorkflowVersion:
    draft = _locked_draft(workflow, revision)
    snapshot = (
        DraftSnapshot.objects.filter(workflow=workflow, stack=take).order_by("-id").first()
        if draft
        else None
    )
    if snapshot is None:
        raise WorkflowError(nothing)
    _push(workflow, put, draft.graph)
    graph = snapshot.graph
    snapshot.delete()
    return _save(workflow, draft, graph)


@transaction.atomic
def undo(workflow: Workflow, *, revision=None, user=None) -> WorkflowVersion:
    return _step_back(
        workflow, DraftSnapshot.Stack.UNDO, DraftSnapshot.Stack.REDO, revision, "Nothing to undo."
    )


@transaction.atomic
def redo(workflow: Workflow, *, revision=None, user=None) -> WorkflowVersion:
    return _step_back(
        workflow, DraftSnapshot.Stack.REDO, DraftSnapshot.Stack.UNDO, revision, "Nothing to redo."
    )


def history(workflow: Workflow) -> dict:
    """Whether Undo and Redo have anything to do (for the header buttons)."""
    stacks = set(
        DraftSnapshot.objects.filter(workflow=workflow).values_list("stack", flat=True).distinct()
    )
    return {"can_undo": "undo" in stacks, "can_redo": "redo" in stacks}


# --- the edits -------------------------------------------------------------------------------


def update_step(
    workflow: Workflow,
    step_id: str,
    *,
    name=None,
    settings=None,
    on_error=None,
    revision=None,
    user=None,
) -> WorkflowVersion:
    """Renames a step and/or replaces its settings. Targets (`next`, branch `next`,
    `else_next`, `loop`) are edges, kept from the graph when `settings` leaves them out;
    `on_error` given inside `settings` is stored on the step, where the engine reads it."""
    if settings is not None and not isinstance(settings, dict):
        raise WorkflowError("settings must be an object.")

    def change(graph):
        step = surgery.get_step(graph, step_id)
        if name is not None:
            text = str(name).strip()
            if not text:
                raise EditError("A step needs a name.")
            step["name"] = text[:200]
        if settings is not None:
            new = copy.deepcopy(settings)
            error_policy = new.pop("on_error", None)
            old = step.get("settings") if isinstance(step.get("settings"), dict) else {}
            for key in ("else_next", "loop"):
                if key in old and key not in new:
                    new[key] = old[key]
            if isinstance(new.get("branches"), list) and isinstance(old.get("branches"), list):
                for index, branch in enumerate(new["branches"]):
                    if isinstance(branch, dict) and "next" not in branch:
                        previous = old["branches"][index] if index < len(old["branches"]) else {}
                        branch["next"] = (previous or {}).get("next", [])
            step["settings"] = new
            if error_policy is not None:
                step["on_error"] = error_policy
        if on_error is not None:
            step["on_error"] = on_error
        return graph

    return edit_draft(workflow, change, revision=revision, user=user)


def set_trigger(workflow: Workflow, trigger: dict, *, revision=None, user=None) -> WorkflowVersion:
    """Sets the trigger's type and/or settings; what follows the trigger stays."""
    if not isinstance(trigger, dict):
        raise WorkflowError("The trigger must be an object.")

    def change(graph):
        old = graph.get("trigger") if isinstance(graph.get("trigger"), dict) else {}
        new = {**old, **copy.deepcopy(trigger)}
        if "type" in trigger and trigger["type"] != old.get("type"):
            kind = get_kind(trigger["type"])
            if kind is None:
                raise EditError(f"Unknown trigger type {trigger['type']!r}.")
            if "settings" not in trigger:
                new["settings"] = defaults(kind.settings_schema)
        new["next"] = old.get("next", []) if "next" not in trigger else trigger["next"]
        graph["trigger"] = new
        return graph

    return edit_draft(workflow, change, revision=revision, user=user)


def insert_step(
    workflow: Workflow, after, step_type: str, *, revision=None, user=None
) -> WorkflowVersion:
    """A new step of `step_type` with its default settings, on the edge `after`."""
    handler = get_handler(step_type)
    if handler is None:
        raise WorkflowError(f"Unknown step type {step_type!r}.")
    edge = surgery.parse_edge(after)

    def change(graph):
        step = surgery.new_step(graph, step_type, handler.label, defaults(handler.settings_schema))
        return surgery.insert(graph, edge, step)

    return edit_draft(workflow, change, revision=revision, user=user)


def delete_step(workflow: Workflow, step_id: str, *, revision=None, user=None) -> WorkflowVersion:
    return edit_draft(workflow, lambda g: surgery.delete(g, step_id), revision=revision, user=user)


def duplicate_step(
    workflow: Workflow, step_id: str, *, revision=None, user=None
) -> WorkflowVersion:
    """A copy (with what it owns) right after the step."""

    def change(graph):
        fragment = surgery.copy_fragment(graph, step_id)
        return surgery.paste(graph, surgery.Edge("after", step_id), fragment)[0]

    return edit_draft(workflow, change, revision=revision, user=user)


def move_step(workflow: Workflow, step_id: str, to, *, revision=None, user=None) -> WorkflowVersion:
    return edit_draft(
        workflow, lambda g: surgery.move(g, step_id, to), revision=revision, user=user
    )


def paste_steps(workflow: Workflow, at, steps, *, revision=None, user=None) -> WorkflowVersion:
    """Pastes on the edge `at` either a step of this draft by id (with what it owns, copied) or
    a fragment made by `surgery.copy_fragment`."""

    def change(graph):
        fragment = steps
        if isinstance(steps, str):
            fragment = surgery.copy_fragment(graph, steps)
        if not isinstance(fragment, dict):
            raise EditError("Nothing to paste.")
        return surgery.paste(graph, at, fragment)[0]

    return edit_draft(workflow, change, revision=revision, user=user)


def replace_graph(workflow: Workflow, graph: dict, *, revision=None, user=None) -> WorkflowVersion:
    """The whole graph at once (the API's draft PUT, Restore), undoable like any edit."""
    check_graph_shape(graph)
    return edit_draft(workflow, lambda _: copy.deepcopy(graph), revision=revision, user=user)
