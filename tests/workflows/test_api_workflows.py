"""The workflows, runs and forms API, as SPEC section 7 shapes it."""

import pytest
from rest_framework.test import APIClient

from crm.models import ApiKey, Role, Task
from tests.conftest import make_user, make_workspace
from workflows.models import FormRequest, WorkflowRun

from .helpers import graph, person, step

pytestmark = pytest.mark.django_db

MAKE_TASK = graph(
    step(
        "make",
        "create_record",
        {
            "object": "task",
            "values": {
                "title": "Call {{trigger.record.first_name}}",
                "person": "{{trigger.record.id}}",
            },
        },
    ),
    trigger={"type": "manual", "settings": {"object": "person"}},
)


def create(api, name="Follow-up", graph_=None):
    response = api.post("/api/v1/workflows/", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    workflow = response.json()
    if graph_ is not None:
        put = api.put(f"/api/v1/workflows/{workflow['id']}/draft/", graph_, format="json")
        assert put.status_code == 200, put.content
    return workflow


def publish(api, workflow_id):
    response = api.post(f"/api/v1/workflows/{workflow_id}/publish/")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_new_workflow_is_inactive_with_an_empty_draft(api):
    workflow = create(api)
    assert workflow["status"] == "inactive"
    assert workflow["has_draft"] is True and workflow["active_version"] is None
    draft = api.get(f"/api/v1/workflows/{workflow['id']}/draft/").json()
    assert draft["steps"] == [] and draft["trigger"]["type"] == "manual"


def test_validate_lists_every_problem_with_its_step(api):
    workflow = create(
        api,
        graph_={
            "trigger": {"type": "record_created", "settings": {"object": "planet"}, "next": ["a"]},
            "steps": [
                step("a", "teleport", next=["b"]),
                step("b", "create_record", {"object": "person", "values": {"shoe": 1}}, ["ghost"]),
                step("lonely", "filter", {"when": {"all": []}}),
                step(
                    "c",
                    "create_record",
                    {"object": "note", "values": {"title": "{{steps.lonely.passed}}"}},
                ),
            ],
        },
    )
    body = api.post(f"/api/v1/workflows/{workflow['id']}/validate/").json()
    assert body["valid"] is False
    found = {(e["step"], e["message"].split(" ")[0]) for e in body["errors"]}
    messages = " | ".join(e["message"] for e in body["errors"])
    assert ("trigger", "Unknown") in found  # unknown object
    assert ("a", "Unknown") in found  # unknown step type
    assert "has no field 'shoe'" in messages
    assert "'ghost', which does not exist" in messages
    assert {e["step"] for e in body["errors"]} >= {"lonely", "c"}  # unreachable


def test_validate_finds_cycles_and_templates_naming_later_steps(api):
    workflow = create(
        api,
        graph_=graph(
            step(
                "a",
                "create_record",
                {"object": "note", "values": {"title": "{{steps.b.record.title}}"}},
                ["b"],
            ),
            step("b", "create_record", {"object": "note", "values": {"title": "x"}}, ["a"]),
        ),
    )
    messages = [
        e["message"]
        for e in api.post(f"/api/v1/workflows/{workflow['id']}/validate/").json()["errors"]
    ]
    assert any(m.startswith("Cycle") for m in messages)


def test_publish_refuses_an_invalid_draft_with_every_error(api):
    workflow = create(api, graph_=graph(step("a", "create_record", {"object": "nope"})))
    response = api.post(f"/api/v1/workflows/{workflow['id']}/publish/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["step"] == "a"


def test_publish_numbers_versions_and_archives_the_previous_one(api):
    workflow = create(api, graph_=MAKE_TASK)
    first = publish(api, workflow["id"])
    assert first["number"] == 1 and first["status"] == "active"
    api.put(f"/api/v1/workflows/{workflow['id']}/draft/", MAKE_TASK, format="json")
    second = publish(api, workflow["id"])
    assert second["number"] == 2
    versions = api.get(f"/api/v1/workflows/{workflow['id']}/versions/").json()["results"]
    assert [(v["number"], v["status"]) for v in versions] == [(2, "active"), (1, "archived")]
    detail = api.get(f"/api/v1/workflows/{workflow['id']}/").json()
    assert detail["status"] == "active" and detail["active_version"] == 2
    assert detail["has_draft"] is False


def test_restore_copies_a_version_into_the_draft(api):
    workflow = create(api, graph_=MAKE_TASK)
    publish(api, workflow["id"])
    response = api.post(f"/api/v1/workflows/{workflow['id']}/versions/1/restore/")
    assert response.status_code == 200
    assert api.get(f"/api/v1/workflows/{workflow['id']}/draft/").json()["steps"][0]["id"] == "make"
    assert api.post(f"/api/v1/workflows/{workflow['id']}/versions/9/restore/").status_code == 404


def test_deactivate_stops_manual_runs_and_activate_brings_them_back(api, workspace):
    workflow = create(api, graph_=MAKE_TASK)
    publish(api, workflow["id"])
    ada = person(workspace)
    api.post(f"/api/v1/workflows/{workflow['id']}/deactivate/")
    refused = api.post(
        f"/api/v1/workflows/{workflow['id']}/run/", {"record_id": str(ada.pk)}, format="json"
    )
    assert refused.status_code == 400
    api.post(f"/api/v1/workflows/{workflow['id']}/activate/")
    started = api.post(
        f"/api/v1/workflows/{workflow['id']}/run/", {"record_id": str(ada.pk)}, format="json"
    )
    assert started.status_code == 202 and len(started.json()["run_ids"]) == 1


def test_a_manual_run_per_record_creates_the_tasks(api, workspace):
    workflow = create(api, graph_=MAKE_TASK)
    publish(api, workflow["id"])
    people = [person(workspace, first_name=f"P{i}") for i in range(3)]
    response = api.post(
        f"/api/v1/workflows/{workflow['id']}/run/",
        {"record_ids": [str(p.pk) for p in people]},
        format="json",
    )
    assert response.status_code == 202
    run_ids = response.json()["run_ids"]
    assert len(run_ids) == 3
    assert sorted(Task.objects.values_list("title", flat=True)) == ["Call P0", "Call P1", "Call P2"]
    detail = api.get(f"/api/v1/runs/{run_ids[0]}/").json()
    assert detail["status"] == "completed" and detail["source"] == "manual"
    assert detail["steps"][0]["step_id"] == "make" and detail["steps"][0]["status"] == "succeeded"


def test_a_bulk_manual_run_gets_every_record_in_one_run(api, workspace):
    bulk = graph(
        step("each", "iterator", {"items": "{{trigger.records}}", "loop": ["make"]}),
        step(
            "make",
            "create_record",
            {"object": "task", "values": {"title": "{{steps.each.item.first_name}}"}},
        ),
        trigger={"type": "manual", "settings": {"object": "person", "mode": "bulk"}},
    )
    workflow = create(api, graph_=bulk)
    publish(api, workflow["id"])
    ids = [str(person(workspace, first_name=n).pk) for n in ("a", "b")]
    response = api.post(
        f"/api/v1/workflows/{workflow['id']}/run/", {"record_ids": ids}, format="json"
    )
    assert len(response.json()["run_ids"]) == 1
    assert sorted(Task.objects.values_list("title", flat=True)) == ["a", "b"]


def test_a_manual_run_with_unknown_record_ids_is_refused(api):
    workflow = create(api, graph_=MAKE_TASK)
    publish(api, workflow["id"])
    for ids in (["00000000-0000-0000-0000-000000000000"], ["not-a-uuid"], "oops"):
        response = api.post(
            f"/api/v1/workflows/{workflow['id']}/run/", {"record_ids": ids}, format="json"
        )
        assert response.status_code == 400, ids
    assert WorkflowRun.objects.count() == 0


def test_a_test_run_executes_the_draft_and_is_marked_test(api):
    workflow = create(
        api,
        graph_=graph(
            step(
                "make",
                "create_record",
                {"object": "task", "values": {"title": "{{trigger.title}}"}},
            )
        ),
    )
    response = api.post(
        f"/api/v1/workflows/{workflow['id']}/test/", {"payload": {"title": "Sample"}}, format="json"
    )
    assert response.status_code == 202
    run = api.get(f"/api/v1/runs/{response.json()['run_id']}/").json()
    assert run["source"] == "test" and run["status"] == "completed"
    assert Task.objects.get().title == "Sample"
    # The draft stays editable; the run keeps the graph it ran.
    assert (
        api.put(f"/api/v1/workflows/{workflow['id']}/draft/", graph(), format="json").status_code
        == 200
    )


def test_runs_filter_by_workflow_and_status(api):
    workflow = create(
        api,
        graph_=graph(step("make", "create_record", {"object": "task", "values": {"title": "x"}})),
    )
    api.post(f"/api/v1/workflows/{workflow['id']}/test/", {"payload": {}}, format="json")
    listed = api.get(f"/api/v1/runs/?workflow={workflow['id']}&status=completed").json()
    assert listed["count"] == 1 and set(listed["results"][0]) >= {
        "id",
        "workflow",
        "version",
        "status",
        "source",
        "started_at",
        "finished_at",
        "error",
    }
    assert api.get("/api/v1/runs/?status=bogus").status_code == 400
    assert api.get("/api/v1/runs/?workflow=bogus").status_code == 400


def test_cancel_and_retry_through_the_api(api):
    waiting = create(
        api, graph_=graph(step("wait", "delay", {"duration": {"amount": 1, "unit": "days"}}))
    )
    run_id = api.post(f"/api/v1/workflows/{waiting['id']}/test/", {}, format="json").json()[
        "run_id"
    ]
    assert api.get(f"/api/v1/runs/{run_id}/").json()["status"] == "waiting"
    assert api.post(f"/api/v1/runs/{run_id}/cancel/").json()["status"] == "cancelled"
    assert api.post(f"/api/v1/runs/{run_id}/cancel/").status_code == 409
    assert api.post(f"/api/v1/runs/{run_id}/retry/").status_code == 409

    failing = create(
        api,
        "Failing",
        graph_=graph(
            step(
                "up",
                "update_record",
                {"object": "person", "id": "{{trigger.id}}", "values": {"city": "x"}},
            )
        ),
    )
    failed_id = api.post(f"/api/v1/workflows/{failing['id']}/test/", {}, format="json").json()[
        "run_id"
    ]
    failed = api.get(f"/api/v1/runs/{failed_id}/").json()
    assert failed["status"] == "failed" and "No person id" in failed["error"]
    retried = api.post(f"/api/v1/runs/{failed_id}/retry/")
    assert retried.status_code == 202
    assert api.get(f"/api/v1/runs/{retried.json()['run_id']}/").json()["source"] == "retry"


FORM_GRAPH = graph(
    step(
        "ask",
        "form",
        {
            "title": "Qualify {{trigger.record.first_name}}",
            "fields": [
                {"name": "budget", "label": "Budget", "type": "number", "required": True},
                {"name": "fit", "label": "Fit", "type": "select", "options": ["good", "bad"]},
            ],
        },
        ["save"],
    ),
    step(
        "save",
        "update_record",
        {
            "object": "person",
            "id": "{{trigger.record.id}}",
            "values": {"job_title": "budget {{steps.ask.values.budget}}"},
        },
    ),
    trigger={"type": "manual", "settings": {"object": "person"}},
)


def test_a_form_step_waits_for_a_submission_that_resumes_the_run(api, workspace):
    workflow = create(api, graph_=FORM_GRAPH)
    publish(api, workflow["id"])
    ada = person(workspace)
    run_id = api.post(
        f"/api/v1/workflows/{workflow['id']}/run/", {"record_id": str(ada.pk)}, format="json"
    ).json()["run_ids"][0]
    assert api.get(f"/api/v1/runs/{run_id}/").json()["status"] == "waiting"
    forms = api.get("/api/v1/forms/").json()["results"]
    assert forms[0]["title"] == "Qualify Ada" and forms[0]["run"] == run_id
    form_id = forms[0]["id"]
    bad = api.post(f"/api/v1/forms/{form_id}/submit/", {"values": {"fit": "meh"}}, format="json")
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"budget", "fit"}
    ok = api.post(
        f"/api/v1/forms/{form_id}/submit/",
        {"values": {"budget": "5000", "fit": "good"}},
        format="json",
    )
    assert ok.status_code == 200
    assert (
        api.post(
            f"/api/v1/forms/{form_id}/submit/", {"values": {"budget": 1}}, format="json"
        ).status_code
        == 409
    )
    ada.refresh_from_db()
    assert ada.job_title == "budget 5000"
    assert api.get(f"/api/v1/runs/{run_id}/").json()["status"] == "completed"
    assert FormRequest.objects.get().submitted_at


def test_members_can_run_but_not_change_workflows(workspace, api):
    workflow = create(api, graph_=MAKE_TASK)
    publish(api, workflow["id"])
    member = make_user("m@example.com", workspace, role=Role.MEMBER)
    client = APIClient()
    client.force_authenticate(member)
    assert client.get("/api/v1/workflows/").status_code == 200
    assert client.post("/api/v1/workflows/", {"name": "x"}, format="json").status_code == 403
    assert client.post(f"/api/v1/workflows/{workflow['id']}/publish/").status_code == 403
    assert client.get(f"/api/v1/workflows/{workflow['id']}/").json()["webhook_secret"] is None
    ada = person(workspace)
    assert (
        client.post(
            f"/api/v1/workflows/{workflow['id']}/run/", {"record_id": str(ada.pk)}, format="json"
        ).status_code
        == 202
    )


@pytest.mark.parametrize(
    "method,suffix",
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("get", "draft/"),
        ("put", "draft/"),
        ("post", "validate/"),
        ("post", "publish/"),
        ("post", "activate/"),
        ("post", "deactivate/"),
        ("get", "versions/"),
        ("post", "versions/1/restore/"),
        ("post", "run/"),
        ("post", "test/"),
    ],
)
def test_another_workspace_never_sees_a_workflow(api, method, suffix):
    workflow = create(api, graph_=MAKE_TASK)
    publish(api, workflow["id"])
    other = make_workspace("other")
    _, key = ApiKey.issue(other)
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = getattr(stranger, method)(
        f"/api/v1/workflows/{workflow['id']}/{suffix}",
        {"name": "x"} if method != "get" else None,
        format="json",
    )
    assert response.status_code == 404
    assert stranger.get("/api/v1/workflows/").json()["count"] == 0


def test_another_workspace_never_sees_runs_or_forms(api, workspace):
    workflow = create(api, graph_=FORM_GRAPH)
    publish(api, workflow["id"])
    run_id = api.post(
        f"/api/v1/workflows/{workflow['id']}/run/",
        {"record_id": str(person(workspace).pk)},
        format="json",
    ).json()["run_ids"][0]
    form_id = api.get("/api/v1/forms/").json()["results"][0]["id"]
    _, key = ApiKey.issue(make_workspace("other"))
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert stranger.get(f"/api/v1/runs/{run_id}/").status_code == 404
    assert stranger.post(f"/api/v1/runs/{run_id}/cancel/").status_code == 404
    assert stranger.get("/api/v1/runs/").json()["count"] == 0
    assert stranger.get("/api/v1/forms/").json()["count"] == 0
    assert (
        stranger.post(
            f"/api/v1/forms/{form_id}/submit/", {"values": {"budget": 1}}, format="json"
        ).status_code
        == 404
    )


def test_bad_bodies_answer_400_not_500(api):
    workflow = create(api)
    assert api.post("/api/v1/workflows/", {"name": ""}, format="json").status_code == 400
    assert (
        api.put(f"/api/v1/workflows/{workflow['id']}/draft/", [1, 2], format="json").status_code
        == 400
    )
    assert (
        api.put(
            f"/api/v1/workflows/{workflow['id']}/draft/", {"steps": "x"}, format="json"
        ).status_code
        == 400
    )
    assert (
        api.put(
            f"/api/v1/workflows/{workflow['id']}/draft/",
            "not json",
            content_type="application/json",
        ).status_code
        == 400
    )
    assert api.get("/api/v1/workflows/not-a-uuid/").status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"name": [None, None]}, {"name": {"a": 1}}, {"name": 7}, {"description": ["x"]}],
)
def test_a_name_or_description_that_is_not_text_is_a_400_and_changes_nothing(api, body):
    workflow_id = create(api, name="Keep me")["id"]
    response = api.patch(f"/api/v1/workflows/{workflow_id}/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"]
    assert api.get(f"/api/v1/workflows/{workflow_id}/").json()["name"] == "Keep me"
