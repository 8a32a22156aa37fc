"""Reads the pages and the API share: which runs, workflows and forms a person sees."""

from django.db.models import Count, Q

from .models import RunStatus, StepRun, Workflow, WorkflowRun

RECENT_RUNS = 20


def workflows_in(workspace, search: str = "", status: str = ""):
    workflows = Workflow.objects.filter(workspace=workspace)
    if search:
        workflows = workflows.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if status in Workflow.Status.values:
        workflows = workflows.filter(status=status)
    return workflows.order_by("-updated_at")


def with_recent_run_counts(workflows, days: int = 7):
    """Adds `recent_runs`: the workflow's runs started in the last `days` days (the list's
    "Runs (last 7 days)" column), in the same query."""
    from datetime import timedelta

    from django.utils import timezone

    since = timezone.now() - timedelta(days=days)
    return workflows.annotate(recent_runs=Count("runs", filter=Q(runs__created_at__gte=since)))


def runs_in(workspace, workflow=None, status: str = "", source: str = ""):
    runs = WorkflowRun.objects.filter(workspace=workspace).select_related("workflow", "version")
    if workflow is not None:
        runs = runs.filter(workflow=workflow)
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    if source in WorkflowRun.Source.values:
        runs = runs.filter(source=source)
    return runs.order_by("-created_at")


def runs_for_record(workspace, record, limit: int = RECENT_RUNS) -> list[WorkflowRun]:
    """Runs whose trigger was about this record (record triggers, manual runs, date triggers).
    Dry runs are left out: their writes rolled back, so they did nothing to the record."""
    runs = runs_in(workspace).filter(trigger_payload__record__id=str(record.pk), dry_run=False)
    return list(runs[:limit])


def manual_workflows_for(workspace, object_name: str):
    """Active workflows a person can start by hand on records of `object_name`."""
    return Workflow.objects.filter(
        workspace=workspace,
        status=Workflow.Status.ACTIVE,
        versions__status="active",
        versions__trigger_type="manual",
        versions__trigger_object=object_name,
    ).order_by("name")


def run_steps(run: WorkflowRun):
    return StepRun.objects.filter(run=run).order_by("sequence")


def step_runs_in_scopes(run: WorkflowRun, step_id: str, wanted, limit: int):
    """The first `limit` step runs of `step_id` whose scope `wanted(scope)` accepts, and how
    many more there are. Scopes are read first, so the input and output (of an iterator's
    thousands of items, say) are read only for the rows returned."""
    scopes = run_steps(run).filter(step_id=step_id).values_list("pk", "scope")
    chosen = [pk for pk, scope in scopes if wanted(scope)]
    rows = list(run_steps(run).filter(pk__in=chosen[:limit]))
    return rows, max(0, len(chosen) - limit)


def run_progress(workspace, run_ids) -> dict[str, int]:
    """How many of the given runs are in each status, for bulk-run progress."""
    counts = dict(
        WorkflowRun.objects.filter(workspace=workspace, pk__in=run_ids)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    total = sum(counts.values())
    finished = sum(counts.get(s, 0) for s in WorkflowRun.FINISHED)
    return {"total": total, "finished": finished, **counts}
