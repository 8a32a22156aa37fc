"""Workflow lifecycle and run control (SPEC section 3): publish, restore, activate, cancel,
retry... called alike by the API, the pages, the admin and tasks."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from crm.ids import parse_uuid
from crm.objects import OBJECTS, serialize

from . import queue
from .graph import empty_graph
from .models import (
    DraftSnapshot,
    FormRequest,
    RunStatus,
    StepRun,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)
from .signals import workflow_triggers_changed
from .validation import Problem, validate


class WorkflowError(Exception):
    """A lifecycle action that cannot be done; the message is for the user."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


def versions_of(workflow: Workflow):
    """A fresh query (never a prefetched, filtered cache) of the workflow's versions."""
    return WorkflowVersion.objects.filter(workflow=workflow)


def _changed(workflow: Workflow) -> None:
    transaction.on_commit(
        lambda: workflow_triggers_changed.send(sender=Workflow, workflow=workflow)
    )


def check_graph_shape(graph) -> None:
    """The minimum a draft must be to be stored: a JSON object with the right top-level types.

    Drafts may be incomplete; `validate` tells what publishing would refuse.
    """
    if not isinstance(graph, dict):
        raise WorkflowError("The graph must be a JSON object with 'trigger' and 'steps'.")
    if "trigger" in graph and not isinstance(graph["trigger"], dict):
        raise WorkflowError("'trigger' must be an object.")
    if "steps" in graph and not isinstance(graph["steps"], list):
        raise WorkflowError("'steps' must be a list.")
    if "layout" in graph and not isinstance(graph["layout"], dict):
        raise WorkflowError("'layout' must be an object.")


@transaction.atomic
def create_workflow(workspace, name: str, user=None, graph: dict | None = None) -> Workflow:
    name = (name or "").strip()
    if not name:
        raise WorkflowError("A workflow needs a name.")
    workflow = Workflow.objects.create(
        workspace=workspace, name=name[:200], created_by=user if getattr(user, "pk", None) else None
    )
    graph = graph if graph is not None else empty_graph()
    check_graph_shape(graph)
    WorkflowVersion.objects.create(workflow=workflow, graph=graph)
    return workflow


def create_workflow_from_template(
    workspace, slug: str, name: str | None = None, user=None
) -> Workflow:
    """A new inactive workflow whose draft is a copy of the gallery template `slug` (SPEC
    section 9), named after the template unless `name` is given."""
    from .gallery import get_template

    template = get_template(slug) if isinstance(slug, str) else None
    if template is None:
        raise WorkflowError(f"Unknown template {slug!r}; GET /api/v1/templates/ lists them.")
    workflow = create_workflow(
        workspace, (name or "").strip() or template.name, user=user, graph=template.copy_graph()
    )
    workflow.description = template.description
    workflow.save(update_fields=["description"])
    return workflow


def rename_workflow(workflow: Workflow, name: str) -> Workflow:
    if name is not None and not isinstance(name, str):
        raise WorkflowError("A workflow's name must be text.")
    name = (name or "").strip()
    if not name:
        raise WorkflowError("A workflow needs a name.")
    workflow.name = name[:200]
    workflow.save(update_fields=["name", "updated_at"])
    return workflow


@transaction.atomic
def save_draft(workflow: Workflow, graph: dict) -> WorkflowVersion:
    """Stores `graph` as the draft, creating the draft if there is none."""
    check_graph_shape(graph)
    draft = (
        versions_of(workflow)
        .select_for_update()
        .filter(status=WorkflowVersion.Status.DRAFT)
        .first()
    )
    if draft is None:
        draft = WorkflowVersion(workflow=workflow)
    draft.graph = graph
    draft.revision = (draft.revision or 0) + 1
    draft.save()
    Workflow.objects.filter(pk=workflow.pk).update(updated_at=timezone.now())
    return draft


def _end_draft_history(workflow: Workflow) -> None:
    """Undo/redo belong to one draft (workflows.builder.edits): publishing or discarding it
    ends them, so a later draft never undoes into an earlier one."""
    DraftSnapshot.objects.filter(workflow=workflow).delete()


def discard_draft(workflow: Workflow) -> None:
    versions_of(workflow).filter(status=WorkflowVersion.Status.DRAFT).delete()
    _end_draft_history(workflow)


def validate_draft(workflow: Workflow) -> list[Problem]:
    draft = workflow.draft
    if draft is None:
        return [Problem("There is no draft to validate.")]
    return validate(draft.graph)


@transaction.atomic
def publish(workflow: Workflow, user=None) -> WorkflowVersion:
    """Validates the draft, numbers it, makes it the active version and activates the workflow.
    The former active version is archived."""
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    draft = workflow.draft
    if draft is None:
        raise WorkflowError("There is no draft to publish.")
    problems = validate(draft.graph)
    if problems:
        raise WorkflowError("The draft has problems; fix them before publishing.", problems)
    versions_of(workflow).filter(
        status__in=[WorkflowVersion.Status.ACTIVE, WorkflowVersion.Status.DEACTIVATED]
    ).update(status=WorkflowVersion.Status.ARCHIVED)
    last = versions_of(workflow).aggregate(n=Max("number"))["n"] or 0
    draft.number = last + 1
    draft.status = WorkflowVersion.Status.ACTIVE
    draft.published_by = user if getattr(user, "pk", None) else None
    api_key = getattr(user, "api_key", None)  # crm.auth.ApiKeyUser: a request made with a key
    draft.published_by_key = api_key.name if api_key is not None else ""
    draft.published_at = timezone.now()
    draft.save()
    workflow.status = Workflow.Status.ACTIVE
    workflow.save(update_fields=["status", "updated_at"])
    _end_draft_history(workflow)
    _changed(workflow)
    return draft


@transaction.atomic
def activate(workflow: Workflow) -> Workflow:
    version = (
        versions_of(workflow)
        .filter(status__in=[WorkflowVersion.Status.ACTIVE, WorkflowVersion.Status.DEACTIVATED])
        .order_by("-number")
        .first()
    )
    if version is None:
        raise WorkflowError("Publish a version before activating the workflow.")
    version.status = WorkflowVersion.Status.ACTIVE
    version.save(update_fields=["status", "updated_at"])
    workflow.status = Workflow.Status.ACTIVE
    workflow.save(update_fields=["status", "updated_at"])
    _changed(workflow)
    return workflow


@transaction.atomic
def deactivate(workflow: Workflow) -> Workflow:
    """Stops new runs; runs in flight finish on the version they started with."""
    versions_of(workflow).filter(status=WorkflowVersion.Status.ACTIVE).update(
        status=WorkflowVersion.Status.DEACTIVATED
    )
    workflow.status = Workflow.Status.INACTIVE
    workflow.save(update_fields=["status", "updated_at"])
    _changed(workflow)
    return workflow


def restore_version(workflow: Workflow, number: int) -> WorkflowVersion:
    """Copies version `number`'s graph into the draft (replacing it)."""
    version = versions_of(workflow).filter(number=number).first()
    if version is None:
        raise WorkflowError(f"Version {number} does not exist.")
    return save_draft(workflow, version.graph)


@transaction.atomic
def duplicate_workflow(workflow: Workflow, user=None) -> Workflow:
    source = workflow.draft or workflow.active_version or versions_of(workflow).first()
    return create_workflow(
        workflow.workspace,
        f"{workflow.name} (copy)",
        user=user,
        graph=source.graph if source else None,
    )


@transaction.atomic
def delete_workflow(workflow: Workflow) -> None:
    """Deletes the workflow and its runs. Its trigger index entry and schedule go with the
    model's post_delete signal (workflows.triggers), not with workflow_triggers_changed."""
    WorkflowRun.objects.filter(workflow=workflow).delete()
    workflow.delete()


# --- starting runs ---------------------------------------------------------------------------


def user_payload(user) -> dict | None:
    if not getattr(user, "pk", None):
        return None
    return {"id": user.pk, "email": user.email, "name": user.get_full_name() or user.email}


def start_manual_runs(
    workflow: Workflow,
    user=None,
    record_ids=None,
    payload=None,
    source: str = WorkflowRun.Source.MANUAL,
) -> list[WorkflowRun]:
    """Starts a manual workflow: one run per record (`single`), one run with all records
    (`bulk`), or one run with no record, each with the user and any given payload."""
    version = workflow.active_version if workflow.status == Workflow.Status.ACTIVE else None
    if version is None:
        raise WorkflowError("This workflow is not active: publish and activate it first.")
    if version.trigger_type != "manual":
        raise WorkflowError("Only workflows with a manual trigger can be started by hand.")
    return queue.start_runs(
        version,
        manual_payloads(version.graph, workflow.workspace, user, record_ids, payload),
        source,
        started_by=user,
    )


def manual_payloads(graph: dict, workspace, user, record_ids, payload) -> list[dict]:
    settings = (graph.get("trigger") or {}).get("settings") or {}
    base = {"user": user_payload(user)}
    if payload is not None:
        base["payload"] = payload
    if not record_ids:
        return [base]
    obj = OBJECTS.get(settings.get("object"))
    if obj is None:
        raise WorkflowError("This workflow's trigger is not about records; start it without ids.")
    ids = [str(i) for i in record_ids]
    malformed = [i for i in ids if parse_uuid(i) is None]
    if malformed:
        raise WorkflowError(f"Bad record id: {', '.join(malformed[:5])} is not a UUID.")
    found = {str(r.pk): r for r in obj.queryset(workspace).filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise WorkflowError(f"No {obj.name} with id {', '.join(missing[:5])} in this workspace.")
    records = [serialize(found[i], workspace) for i in dict.fromkeys(ids)]
    if settings.get("mode") == "bulk":
        return [{**base, "records": records}]
    return [{**base, "record": record} for record in records]


def start_test_run(
    workflow: Workflow, payload: dict | None, user=None, *, dry_run: bool = False
) -> WorkflowRun:
    """Runs the draft on a sample payload. The run gets a frozen copy of the draft, so the draft
    stays editable and a version with runs never changes.

    A dry run's record writes roll back at its end and its emails stay unsent in the outbox
    (workflows/dry_run.py); HTTP and code steps still run, their answers are what it tests."""
    draft = workflow.draft
    if draft is None:
        raise WorkflowError("There is no draft to test.")
    if payload is not None and not isinstance(payload, dict):
        raise WorkflowError("payload must be a JSON object.")
    problems = validate(draft.graph)
    if problems:
        raise WorkflowError("The draft has problems; fix them before testing.", problems)
    snapshot = WorkflowVersion.objects.create(
        workflow=workflow, graph=draft.graph, status=WorkflowVersion.Status.ARCHIVED
    )
    return queue.start_run(
        snapshot, payload or {}, WorkflowRun.Source.TEST, started_by=user, dry_run=dry_run
    )


# --- run control -----------------------------------------------------------------------------


def cancel_run(run: WorkflowRun) -> WorkflowRun:
    """A queued or waiting run stops at once; a running one after its current step."""
    if run.is_finished:
        raise WorkflowError(f"This run is already {run.status}.")
    # A run can move between `running` and `waiting` while we look: each branch is a
    # conditional UPDATE, and a miss tries again (a flag set on a run that had just parked
    # would never be read).
    for _ in range(5):
        stopped = WorkflowRun.objects.filter(
            pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.WAITING]
        ).update(
            status=RunStatus.CANCELLED,
            finished_at=timezone.now(),
            error="Cancelled.",
            resume_at=None,
            cancel_requested=True,
        )
        if stopped:
            FormRequest.objects.filter(run=run, status=FormRequest.Status.PENDING).update(
                status=FormRequest.Status.CANCELLED
            )
            StepRun.objects.filter(run=run, status=StepRun.Status.WAITING).update(
                status=StepRun.Status.SKIPPED, finished_at=timezone.now()
            )
            break
        flagged = WorkflowRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            cancel_requested=True
        )
        if flagged or not WorkflowRun.objects.filter(pk=run.pk, finished_at=None).exists():
            break
    run.refresh_from_db()
    return run


@transaction.atomic
def retry_run(run: WorkflowRun, user=None) -> WorkflowRun:
    """A new run of the same version and payload that keeps the earlier steps' outputs and
    starts again at the failed step."""
    if run.status != RunStatus.FAILED:
        raise WorkflowError("Only a failed run can be retried.")
    if run.dry_run:
        # Its earlier steps' writes were rolled back: there is nothing to continue from.
        raise WorkflowError("A dry run is not retried: test the draft again.")
    new_run = WorkflowRun.objects.create(
        workspace_id=run.workspace_id,
        workflow_id=run.workflow_id,
        version_id=run.version_id,
        source=WorkflowRun.Source.RETRY,
        trigger_payload=run.trigger_payload,
        depth=run.depth,
        started_by=user if getattr(user, "pk", None) else None,
        retry_of=run,
    )
    kept = [
        StepRun(
            run=new_run,
            step_id=s.step_id,
            scope=s.scope,
            iteration=s.iteration,
            sequence=s.sequence,
            name=s.name,
            type=s.type,
            status=s.status,
            input=s.input,
            output=s.output,
            sealed_output=s.sealed_output,
            error=s.error,
            attempts=s.attempts,
            started_at=s.started_at,
            finished_at=s.finished_at,
        )
        for s in run.steps.all()
        if s.status in (StepRun.Status.SUCCEEDED, StepRun.Status.SKIPPED)
        or (
            s.status == StepRun.Status.FAILED and isinstance(s.output, dict) and "error" in s.output
        )
    ]
    StepRun.objects.bulk_create(kept)
    queue.kick()
    return new_run
