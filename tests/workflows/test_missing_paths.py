"""Templates that resolved to nothing are flagged on their step run (issue 12)."""

import pytest
from django.test import Client

from crm.models import Task
from workflows import templating
from workflows.models import RunStatus

from .helpers import graph, run_workflow, step, steps_of

FOLLOW_UP = graph(
    step(
        "task",
        "create_record",
        {"object": "task", "values": {"title": "Follow up with {{trigger.body.name}}"}},
    ),
    step(
        "check",
        "filter",
        {"when": {"all": [{"left": "{{trigger.body.name}}", "op": "is_empty"}]}},
    ),
    trigger={"type": "webhook", "settings": {"method": "POST"}},
    entry=["task", "check"],
)


def test_missing_paths_walks_nested_values_and_names_each_path_once():
    data = {"trigger": {"body": {"name": "Ada", "tags": ["a", None], "empty": None, "zero": 0}}}
    value = {
        "title": "Hi {{trigger.body.name}} {{ trigger.body.nick }}",
        "values": {"a": ["{{trigger.body.tags.0}}", "{{trigger.body.tags.1}}"]},
        "more": [{"x": "{{trigger.body.empty}}"}, "{{trigger.body.nick}}", 3, None],
        "zero": "{{trigger.body.zero}}",
        "far": "{{trigger.body.tags.5}}",
        "bad": "{{nope.path}}",
    }
    assert templating.missing_paths(value, data) == [
        "trigger.body.nick",
        "trigger.body.tags.1",
        "trigger.body.empty",
        "trigger.body.tags.5",
    ]
    assert templating.missing_paths("plain text", data) == []


@pytest.mark.django_db
def test_a_run_without_the_field_flags_the_template_on_its_step(workspace):
    run = run_workflow(workspace, FOLLOW_UP, {"body": {"email": "a@x.io"}})
    assert run.status == RunStatus.COMPLETED, run.error
    assert Task.objects.get().title.strip() == "Follow up with"
    steps = steps_of(run)
    assert steps[("task", "")].missing == ["trigger.body.name"]
    # A condition testing emptiness is not flagged.
    assert steps[("check", "")].missing == []


@pytest.mark.django_db
def test_a_run_with_the_field_flags_nothing(workspace):
    run = run_workflow(workspace, FOLLOW_UP, {"body": {"name": "Nia"}})
    assert run.status == RunStatus.COMPLETED, run.error
    assert Task.objects.get().title == "Follow up with Nia"
    assert steps_of(run)[("task", "")].missing == []


@pytest.mark.django_db
def test_the_runs_api_and_the_run_view_show_what_was_missing(workspace, api, owner):
    run = run_workflow(workspace, FOLLOW_UP, {"body": {}})
    detail = api.get(f"/api/v1/runs/{run.pk}/").json()
    by_id = {s["step_id"]: s for s in detail["steps"]}
    assert by_id["task"]["missing"] == ["trigger.body.name"]
    assert by_id["check"]["missing"] == []
    browser = Client()
    browser.force_login(owner)
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    assert page.count("missing: trigger.body.name") == 1
    assert 'class="problems step-missing"' in page
