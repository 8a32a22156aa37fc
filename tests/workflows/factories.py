"""Plain factory helpers for step tests: a run to hang step executions on, and the
StepContext a handler receives from the engine."""

from django.utils import timezone

from workflows.models import Workflow, WorkflowRun, WorkflowVersion
from workflows.secrets import SecretsView
from workflows.steps import get_handler
from workflows.steps.base import StepContext


def make_run(workspace, graph: dict | None = None, payload: dict | None = None) -> WorkflowRun:
    workflow = Workflow.objects.create(workspace=workspace, name="Test workflow")
    version = WorkflowVersion.objects.create(
        workflow=workflow, graph=graph or {}, status=WorkflowVersion.Status.ACTIVE, number=1
    )
    return WorkflowRun.objects.create(
        workspace=workspace, workflow=workflow, version=version, trigger_payload=payload or {},
        status=WorkflowRun.Status.RUNNING, started_at=timezone.now(),
    )  # fmt: skip


def make_context(
    step_type: str,
    settings: dict,
    *,
    run: WorkflowRun | None = None,
    workspace=None,
    step_id: str = "step",
    scope: str = "",
    attempt: int = 1,
    trigger: dict | None = None,
    steps: dict | None = None,
) -> StepContext:
    """A StepContext shaped like the engine's: templates see trigger, steps, run, workspace,
    secrets (lazy, recording what they hand out) and now."""
    workspace = workspace or (run.workspace if run is not None else None)
    used: set[str] = set()
    data = {
        "trigger": trigger or {},
        "steps": steps or {},
        "run": {"id": str(run.pk) if run else "", "started_at": timezone.now().isoformat()},
        "workspace": {"name": workspace.name, "slug": workspace.slug} if workspace else {},
        "secrets": SecretsView(workspace, used=used) if workspace else {},
        "now": timezone.now().isoformat(),
    }
    step = {"id": step_id, "name": step_id, "type": step_type, "settings": settings, "next": []}
    return StepContext(
        run=run, workspace=workspace, step=step, data=data, scope=scope, attempt=attempt,
        secret_values=used,
    )  # fmt: skip


def execute(step_type: str, settings: dict, **context) -> object:
    """Runs the registered handler for `step_type` once, the way the engine calls it."""
    return get_handler(step_type).execute(make_context(step_type, settings, **context))
