"""The executor: every record and flow step, branches, merges, loops, errors, limits."""

import pytest

from crm.models import Person, Task
from workflows import queue, services, worker
from workflows.models import RunStatus, StepRun, WorkflowRun
from workflows.steps import REGISTRY, register
from workflows.steps.base import StepError, StepHandler

from .helpers import graph, person, published, run_workflow, step, steps_of

pytestmark = pytest.mark.django_db

SPEC_GRAPH = {
    "trigger": {"type": "webhook", "settings": {"method": "POST"}, "next": ["find"]},
    "steps": [
        step(
            "find",
            "find_records",
            {
                "object": "person",
                "limit": 1,
                "where": {
                    "all": [{"field": "email", "op": "eq", "value": "{{trigger.body.email}}"}]
                },
            },
            ["known"],
        ),
        step(
            "known",
            "if_else",
            {
                "branches": [
                    {
                        "name": "yes",
                        "next": ["touch"],
                        "when": {"all": [{"left": "{{steps.find.count}}", "op": "gt", "right": 0}]},
                    }
                ],
                "else_next": ["create"],
            },
        ),
        step(
            "touch",
            "update_record",
            {
                "object": "person",
                "id": "{{steps.find.first.id}}",
                "values": {"job_title": "{{trigger.body.title}}"},
            },
        ),
        step(
            "create",
            "create_record",
            {
                "object": "person",
                "values": {
                    "email": "{{trigger.body.email}}",
                    "first_name": "{{trigger.body.name}}",
                },
            },
        ),
    ],
}


def test_the_spec_example_creates_an_unknown_person(workspace):
    run = run_workflow(workspace, SPEC_GRAPH, {"body": {"email": "new@x.io", "name": "Nia"}})
    assert run.status == RunStatus.COMPLETED, run.error
    assert Person.objects.get(email="new@x.io").first_name == "Nia"
    assert steps_of(run)[("known", "")].output == {"branch": "else"}
    assert ("touch", "") not in steps_of(run)


def test_the_spec_example_updates_a_known_person(workspace):
    known = person(workspace, email="k@x.io")
    run = run_workflow(workspace, SPEC_GRAPH, {"body": {"email": "k@x.io", "title": "CTO"}})
    assert run.status == RunStatus.COMPLETED, run.error
    known.refresh_from_db()
    assert known.job_title == "CTO"
    assert steps_of(run)[("touch", "")].output["before"]["job_title"] == ""
    assert Person.objects.count() == 1


def test_step_runs_record_input_output_and_order(workspace):
    run = run_workflow(workspace, SPEC_GRAPH, {"body": {"email": "a@x.io", "name": "A"}})
    rows = list(run.steps.order_by("sequence"))
    assert [r.step_id for r in rows] == ["find", "known", "create"]
    create = rows[-1]
    assert create.input["values"] == {"email": "a@x.io", "first_name": "A"}
    assert create.output["record"]["email"] == "a@x.io"
    assert create.attempts == 1 and create.started_at and create.finished_at


def test_delete_record_outputs_the_record_as_it_was(workspace):
    victim = person(workspace, email="bye@x.io")
    run = run_workflow(
        workspace, graph(step("rm", "delete_record", {"object": "person", "id": str(victim.pk)}))
    )
    assert run.status == RunStatus.COMPLETED
    assert steps_of(run)[("rm", "")].output["record"]["email"] == "bye@x.io"
    assert not Person.objects.filter(pk=victim.pk).exists()


def test_upsert_creates_then_updates(workspace):
    raw = graph(
        step(
            "up",
            "upsert_record",
            {
                "object": "person",
                "match": ["email"],
                "values": {"email": "u@x.io", "job_title": "{{trigger.title}}"},
            },
        )
    )
    first = run_workflow(workspace, raw, {"title": "Dev"})
    second = run_workflow(workspace, raw, {"title": "Lead"})
    assert steps_of(first)[("up", "")].output["created"] is True
    assert steps_of(second)[("up", "")].output["created"] is False
    assert Person.objects.get(email="u@x.io").job_title == "Lead"


def test_find_records_orders_and_limits(workspace):
    for name in ["b", "c", "a"]:
        person(workspace, first_name=name)
    run = run_workflow(
        workspace,
        graph(
            step(
                "find", "find_records", {"object": "person", "order_by": "-first_name", "limit": 2}
            )
        ),
    )
    output = steps_of(run)[("find", "")].output
    assert [r["first_name"] for r in output["records"]] == ["c", "b"]
    assert output["count"] == 2 and output["first"]["first_name"] == "c"


def test_a_filter_that_fails_ends_its_branch_but_the_run_completes(workspace):
    raw = graph(
        step(
            "gate",
            "filter",
            {"when": {"all": [{"left": "{{trigger.n}}", "op": "gt", "right": 5}]}},
            ["make"],
        ),
        step("make", "create_record", {"object": "task", "values": {"title": "t"}}),
    )
    run = run_workflow(workspace, raw, {"n": 3})
    assert run.status == RunStatus.COMPLETED
    assert steps_of(run)[("gate", "")].status == StepRun.Status.SKIPPED
    assert Task.objects.count() == 0


def test_a_filter_that_passes_goes_on_to_its_next_step(workspace):
    raw = graph(
        step(
            "gate",
            "filter",
            {"when": {"all": [{"left": "{{trigger.n}}", "op": "gt", "right": 5}]}},
            ["make"],
        ),
        step("make", "create_record", {"object": "task", "values": {"title": "t"}}),
    )
    run = run_workflow(workspace, raw, {"n": 7})
    assert run.status == RunStatus.COMPLETED
    assert steps_of(run)[("gate", "")].status == StepRun.Status.SUCCEEDED
    assert Task.objects.count() == 1


def test_parallel_branches_run_and_merge_once_after_both(workspace):
    raw = graph(
        step("a", "create_record", {"object": "task", "values": {"title": "a"}}, ["merge"]),
        step("b", "create_record", {"object": "task", "values": {"title": "b"}}, ["merge"]),
        step(
            "merge",
            "create_record",
            {
                "object": "note",
                "values": {"title": "{{steps.a.record.title}}+{{steps.b.record.title}}"},
            },
        ),
        entry=["a", "b"],
    )
    run = run_workflow(workspace, raw)
    assert run.status == RunStatus.COMPLETED, run.error
    order = [s.step_id for s in run.steps.order_by("sequence")]
    assert order == ["a", "b", "merge"]
    assert steps_of(run)[("merge", "")].output["record"]["title"] == "a+b"


def test_a_merge_waits_for_a_branch_stopped_by_a_filter(workspace):
    raw = graph(
        step("a", "filter", {"when": {"all": [{"left": 1, "op": "eq", "right": 2}]}}, ["merge"]),
        step("b", "create_record", {"object": "task", "values": {"title": "b"}}, ["merge"]),
        step("merge", "create_record", {"object": "note", "values": {"title": "m"}}),
        entry=["a", "b"],
    )
    run = run_workflow(workspace, raw)
    assert run.status == RunStatus.COMPLETED
    assert run.steps.filter(step_id="merge").count() == 1


def test_if_else_takes_the_first_matching_branch(workspace):
    raw = graph(
        step(
            "pick",
            "if_else",
            {
                "branches": [
                    {
                        "name": "big",
                        "when": {
                            "all": [{"left": "{{trigger.amount}}", "op": "gte", "right": "1000"}]
                        },
                        "next": ["big_task"],
                    },
                    {
                        "name": "mid",
                        "when": {
                            "any": [{"left": "{{trigger.amount}}", "op": "gte", "right": 100}]
                        },
                        "next": ["mid_task"],
                    },
                ],
                "else_next": ["small_task"],
            },
        ),
        step("big_task", "create_record", {"object": "task", "values": {"title": "big"}}),
        step("mid_task", "create_record", {"object": "task", "values": {"title": "mid"}}),
        step("small_task", "create_record", {"object": "task", "values": {"title": "small"}}),
    )
    assert steps_of(run_workflow(workspace, raw, {"amount": 150}))[("pick", "")].output == {
        "branch": "mid"
    }
    assert list(Task.objects.values_list("title", flat=True)) == ["mid"]


def test_iterator_runs_its_body_per_item_then_its_next(workspace):
    raw = graph(
        step("each", "iterator", {"items": "{{trigger.names}}", "loop": ["make"]}, ["after"]),
        step(
            "make",
            "create_record",
            {"object": "task", "values": {"title": "{{steps.each.item}} #{{steps.each.index}}"}},
        ),
        step(
            "after",
            "create_record",
            {"object": "note", "values": {"title": "made {{steps.each.count}}"}},
        ),
    )
    run = run_workflow(workspace, raw, {"names": ["x", "y", "z"]})
    assert run.status == RunStatus.COMPLETED, run.error
    assert sorted(Task.objects.values_list("title", flat=True)) == ["x #0", "y #1", "z #2"]
    loop = steps_of(run)[("each", "")].output
    assert loop["count"] == 3
    assert [r["record"]["title"] for r in loop["results"]] == ["x #0", "y #1", "z #2"]
    assert steps_of(run)[("make", "1")].iteration == 1
    assert steps_of(run)[("after", "")].output["record"]["title"] == "made 3"


def test_nested_iterators_keep_each_level_apart(workspace):
    raw = graph(
        step("rows", "iterator", {"items": "{{trigger.rows}}", "loop": ["cols"]}),
        step("cols", "iterator", {"items": "{{steps.rows.item}}", "loop": ["make"]}),
        step(
            "make",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "{{steps.rows.index}}.{{steps.cols.index}}={{steps.cols.item}}"
                },
            },
        ),
    )
    run = run_workflow(workspace, raw, {"rows": [["a", "b"], ["c"]]})
    assert run.status == RunStatus.COMPLETED, run.error
    assert sorted(Task.objects.values_list("title", flat=True)) == ["0.0=a", "0.1=b", "1.0=c"]
    assert ("make", "0.1") in steps_of(run)


def test_an_iterator_over_too_many_items_fails_clearly(workspace):
    raw = graph(
        step("each", "iterator", {"items": "{{trigger.items}}", "loop": ["gate"]}),
        step("gate", "filter", {"when": {"all": [{"left": 1, "op": "eq", "right": 1}]}}),
    )
    run = run_workflow(workspace, raw, {"items": list(range(10_001))})
    assert run.status == RunStatus.FAILED
    assert "at most 10,000 items" in run.error


def test_an_iterator_of_ten_thousand_items_fits_under_the_step_cap(workspace):
    raw = graph(
        step("each", "iterator", {"items": "{{trigger.items}}", "loop": ["gate"]}),
        step("gate", "filter", {"when": {"all": [{"left": 1, "op": "eq", "right": 1}]}}),
    )
    run = run_workflow(workspace, raw, {"items": list(range(10_000))})
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.steps.count() == 10_001


def test_a_run_over_the_step_cap_fails_clearly(workspace, monkeypatch):
    from workflows import engine

    assert engine.MAX_STEPS_PER_RUN == 100_000  # SPEC 5; lowered below so the test is quick
    monkeypatch.setattr(engine, "MAX_STEPS_PER_RUN", 50)
    raw = graph(
        step("each", "iterator", {"items": "{{trigger.items}}", "loop": ["gate"]}),
        step("gate", "filter", {"when": {"all": [{"left": 1, "op": "eq", "right": 1}]}}),
    )
    run = run_workflow(workspace, raw, {"items": list(range(51))})
    assert run.status == RunStatus.FAILED
    assert "50 steps" in run.error


class Flaky(StepHandler):
    """Fails its first `settings.failures` calls, counted across runs."""

    type = "flaky"
    calls = 0

    def execute(self, ctx):
        Flaky.calls += 1
        if Flaky.calls <= ctx.settings.get("failures", 0):
            raise StepError(f"attempt {ctx.attempt} failed")
        return {"attempt": ctx.attempt}


@pytest.fixture
def flaky():
    Flaky.calls = 0
    register(Flaky)
    yield
    REGISTRY.pop("flaky")


def test_on_error_retry_counts_every_attempt(workspace, flaky):
    raw = graph(step("f", "flaky", {"failures": 2}, on_error={"retry": 3, "backoff_s": 0}))
    run = run_workflow(workspace, raw)
    assert run.status == RunStatus.COMPLETED
    assert steps_of(run)[("f", "")].attempts == 3


def test_a_step_that_keeps_failing_fails_the_run_with_its_error(workspace, flaky):
    raw = graph(
        step("f", "flaky", {"failures": 9}, on_error={"retry": 1}),
        step("never", "create_record", {"object": "task", "values": {"title": "x"}}),
    )
    raw["steps"][0]["next"] = ["never"]
    run = run_workflow(workspace, raw)
    assert run.status == RunStatus.FAILED
    assert "attempt 2 failed" in run.error
    failed = steps_of(run)[("f", "")]
    assert failed.status == StepRun.Status.FAILED and failed.attempts == 2
    assert Task.objects.count() == 0


def test_continue_on_error_gives_the_error_as_output_and_goes_on(workspace):
    raw = graph(
        step(
            "bad",
            "update_record",
            {"object": "person", "id": "{{trigger.missing}}", "values": {"city": "x"}},
            ["next_one"],
            on_error={"continue": True},
        ),
        step(
            "next_one",
            "create_record",
            {"object": "note", "values": {"title": "{{steps.bad.error}}"}},
        ),
    )
    run = run_workflow(workspace, raw)
    assert run.status == RunStatus.COMPLETED
    assert "No person id given" in steps_of(run)[("next_one", "")].output["record"]["title"]


def test_a_record_step_with_bad_values_fails_without_writing(workspace):
    raw = graph(
        step(
            "make",
            "create_record",
            {"object": "opportunity", "values": {"name": "Deal", "stage": "unknown"}},
        )
    )
    run = run_workflow(workspace, raw)
    assert run.status == RunStatus.FAILED
    assert "stage" in run.error


def test_a_delay_parks_the_run_until_it_is_due(workspace):
    raw = graph(
        step("wait", "delay", {"duration": {"amount": 1, "unit": "hours"}}, ["make"]),
        step("make", "create_record", {"object": "task", "values": {"title": "later"}}),
    )
    run = run_workflow(workspace, raw)
    assert run.status == RunStatus.WAITING and run.resume_at
    assert queue.resume_due_runs() == 0
    StepRun.objects.filter(run=run, step_id="wait").update(
        started_at=run.resume_at.replace(year=2000)
    )
    WorkflowRun.objects.filter(pk=run.pk).update(resume_at=run.resume_at.replace(year=2000))
    assert queue.resume_due_runs() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, run.error
    assert steps_of(run)[("wait", "")].output["resumed_at"]
    assert Task.objects.get().title == "later"


def test_a_delay_until_a_past_time_goes_straight_on(workspace):
    raw = graph(step("wait", "delay", {"until": "2001-01-01T00:00:00Z"}))
    assert run_workflow(workspace, raw).status == RunStatus.COMPLETED


def test_cancel_stops_a_waiting_run_at_once(workspace):
    raw = graph(step("wait", "delay", {"duration": {"amount": 1, "unit": "days"}}))
    run = run_workflow(workspace, raw)
    services.cancel_run(run)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_cancel_of_a_running_run_takes_effect_after_its_current_step(workspace):
    workflow = published(
        workspace,
        graph(step("make", "create_record", {"object": "task", "values": {"title": "x"}})),
    )
    run = WorkflowRun.objects.create(
        workspace=workspace,
        workflow=workflow,
        version=workflow.active_version,
        status="running",
        lease_owner="me",
        cancel_requested=True,
    )
    from workflows.engine import execute_claimed_run

    assert execute_claimed_run(run.pk, "me") == RunStatus.CANCELLED


def test_retry_starts_at_the_failed_step_and_keeps_earlier_outputs(workspace, flaky):
    raw = graph(
        step("make", "create_record", {"object": "task", "values": {"title": "once"}}, ["f"]),
        step("f", "flaky", {"failures": 1}),
    )
    run = run_workflow(workspace, raw)
    assert run.status == RunStatus.FAILED
    retry = services.retry_run(run)
    retry.refresh_from_db()
    assert retry.status == RunStatus.COMPLETED, retry.error
    assert retry.source == "retry" and retry.retry_of_id == run.pk
    assert Task.objects.count() == 1  # the create step was not executed again
    assert steps_of(retry)[("make", "")].output["record"]["title"] == "once"


def test_a_replay_after_a_crash_never_duplicates_record_writes(workspace):
    """A worker that dies after some steps committed: the run resumes from the first
    unfinished step."""
    raw = graph(
        step("one", "create_record", {"object": "task", "values": {"title": "1"}}, ["two"]),
        step("two", "create_record", {"object": "task", "values": {"title": "2"}}),
    )
    run = run_workflow(workspace, raw)
    StepRun.objects.filter(run=run, step_id="two").delete()
    Task.objects.filter(title="2").delete()
    WorkflowRun.objects.filter(pk=run.pk).update(
        status="running", lease_owner="dead", lease_expires_at="2000-01-01T00:00:00Z"
    )
    queue.kick()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert sorted(Task.objects.values_list("title", flat=True)) == ["1", "2"]


def test_the_concurrency_cap_leaves_the_rest_queued_in_order(workspace, settings):
    settings.WORKFLOW_MAX_CONCURRENT_RUNS = 2
    settings.WORKFLOW_RUN_INLINE = False
    workflow = published(
        workspace,
        graph(step("gate", "filter", {"when": {"all": [{"left": 1, "op": "eq", "right": 1}]}})),
    )
    runs = queue.start_runs(workflow.active_version, [{"n": i} for i in range(5)], "manual")
    claimed = worker.claim("worker-a", batch=10)
    assert claimed == [runs[0].pk, runs[1].pk]
    assert worker.claim("worker-b", batch=10) == []
    from workflows.engine import execute_claimed_run

    execute_claimed_run(runs[0].pk, "worker-a")
    assert worker.claim("worker-b", batch=10) == [runs[2].pk]


def test_bulk_runs_drain_under_the_cap(workspace, settings):
    settings.WORKFLOW_MAX_CONCURRENT_RUNS = 3
    workflow = published(
        workspace,
        graph(
            step("make", "create_record", {"object": "task", "values": {"title": "{{trigger.n}}"}})
        ),
    )
    queue.start_runs(workflow.active_version, [{"n": i} for i in range(40)], "manual")
    assert WorkflowRun.objects.filter(status=RunStatus.COMPLETED).count() == 40
    assert Task.objects.count() == 40


def test_a_template_that_finds_nothing_writes_empty_text(workspace):
    raw = graph(
        step(
            "make",
            "create_record",
            {
                "object": "person",
                "values": {"first_name": "{{trigger.name}}", "job_title": "{{trigger.missing}}"},
            },
        )
    )
    run = run_workflow(workspace, raw, {"name": "Ada"})
    assert run.status == RunStatus.COMPLETED, run.error
    assert Person.objects.get().job_title == ""
