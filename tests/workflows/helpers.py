"""Small builders for workflow tests: graphs, published workflows and finished runs."""

from crm.models import Company, Person
from workflows import queue, services
from workflows.models import WorkflowRun


def step(step_id, step_type, settings=None, next=None, **extra):
    return {
        "id": step_id,
        "name": step_id.replace("_", " ").title(),
        "type": step_type,
        "settings": settings or {},
        "next": next or [],
        **extra,
    }


def graph(*steps, trigger=None, entry=None):
    trigger = trigger or {"type": "manual", "settings": {}}
    trigger = {**trigger, "next": entry if entry is not None else [steps[0]["id"]] if steps else []}
    return {"trigger": trigger, "steps": list(steps), "layout": {}}


def published(workspace, raw_graph, name="Test workflow", user=None):
    workflow = services.create_workflow(workspace, name, user=user, graph=raw_graph)
    services.publish(workflow, user=user)
    workflow.refresh_from_db()
    return workflow


def run_workflow(workspace, raw_graph, payload=None):
    """Publishes the graph, runs it in-process and returns the finished run."""
    workflow = published(workspace, raw_graph)
    run = queue.start_run(workflow.active_version, payload or {}, "manual")
    run.refresh_from_db()
    return run


def steps_of(run: WorkflowRun) -> dict:
    return {(s.step_id, s.scope): s for s in run.steps.all()}


def company(workspace, **values):
    return Company.objects.create(workspace=workspace, **{"name": "Acme", **values})


def person(workspace, **values):
    return Person.objects.create(workspace=workspace, **{"first_name": "Ada", **values})
