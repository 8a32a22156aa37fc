"""Steps add_tags and remove_tags (SPEC section 4): the record's tags after the step."""

from crm.models import Opportunity
from workflows.validation import validate

from .helpers import company, graph, person, run_workflow, step, steps_of


def tag_step(step_type, obj, record_id, tags):
    return step("tag", step_type, {"object": obj, "id": record_id, "tags": tags})


def test_add_tags_adds_only_the_missing_tags_and_outputs_the_tags_after(workspace):
    acme = company(workspace, tags=["vip"])
    run = run_workflow(
        workspace, graph(tag_step("add_tags", "company", str(acme.pk), ["vip", "partner"]))
    )
    assert run.status == "completed", run.error
    acme.refresh_from_db()
    assert acme.tags == ["vip", "partner"]
    output = steps_of(run)["tag", ""].output
    assert output["tags"] == ["vip", "partner"]
    assert output["record"]["id"] == str(acme.pk)


def test_add_tags_splits_text_on_commas_and_reads_templates(workspace):
    ada = person(workspace)
    raw = graph(
        tag_step("add_tags", "person", "{{trigger.payload.id}}", "{{trigger.payload.tags}}")
    )
    run = run_workflow(
        workspace, raw, {"payload": {"id": str(ada.pk), "tags": " lead,  webinar ,"}}
    )
    assert run.status == "completed", run.error
    ada.refresh_from_db()
    assert ada.tags == ["lead", "webinar"]


def test_remove_tags_removes_the_given_tags_and_ignores_absent_ones(workspace):
    deal = Opportunity.objects.create(workspace=workspace, name="Big", tags=["hot", "q4", "x"])
    run = run_workflow(
        workspace, graph(tag_step("remove_tags", "opportunity", str(deal.pk), "hot, gone"))
    )
    assert run.status == "completed", run.error
    deal.refresh_from_db()
    assert deal.tags == ["q4", "x"]
    assert steps_of(run)["tag", ""].output["tags"] == ["q4", "x"]


def test_tags_steps_fire_record_updated_like_any_update(
    workspace, django_capture_on_commit_callbacks
):
    from workflows.models import WorkflowRun

    from .helpers import published

    watcher = published(
        workspace,
        graph(
            step("f", "filter", {"when": {"all": []}}),
            trigger={"type": "record_updated", "settings": {"object": "company"}},
        ),
        name="Watcher",
    )
    acme = company(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        run_workflow(workspace, graph(tag_step("add_tags", "company", str(acme.pk), ["vip"])))
    assert WorkflowRun.objects.filter(workflow=watcher).count() == 1


def test_a_tags_step_on_an_object_without_tags_is_a_validation_problem():
    problems = validate(graph(tag_step("add_tags", "task", "{{trigger.payload.id}}", ["a"])))
    assert any(
        p.step == "tag" and "company, person or opportunity" in p.message for p in problems
    ), problems


def test_a_tags_step_without_tags_is_a_validation_problem():
    problems = validate(graph(tag_step("remove_tags", "company", "{{trigger.payload.id}}", [])))
    assert any(p.step == "tag" and "tags is required" in p.message for p in problems), problems


def test_a_tags_step_for_a_missing_record_fails_with_a_message(workspace):
    run = run_workflow(
        workspace,
        graph(tag_step("add_tags", "company", "5d6f3f0e-0000-4000-8000-000000000000", ["a"])),
    )
    assert run.status == "failed"
    assert "No company with id" in run.error
