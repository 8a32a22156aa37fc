"""Workspace secrets (SPEC sections 4 and 7): what templates see, what stored run data hides,
the write-only API and the settings page."""

import logging
import re

import pytest
from django.test import Client

from crm.models import Role
from tests.conftest import make_user, make_workspace
from tests.workflows.helpers import graph, run_workflow, step, steps_of
from workflows import queue
from workflows.models import RunStatus, Secret, StepRun, WorkflowRun
from workflows.secrets import SecretsView, mask
from workflows.steps import REGISTRY, register
from workflows.steps.base import StepHandler
from workflows.templating import render

VALUE = "sk_live_4f9a8b7c6d5e"


@pytest.fixture
def secret(workspace):
    return Secret.objects.create(workspace=workspace, name="API_KEY", value=VALUE)


# --- SecretsView -------------------------------------------------------------------------------


def test_secrets_are_read_from_the_database_on_first_use_only(secret, django_assert_num_queries):
    with django_assert_num_queries(0):
        view = SecretsView(secret.workspace, used=set())
    with django_assert_num_queries(1):
        assert view["API_KEY"] == VALUE
    with django_assert_num_queries(0):
        assert view["API_KEY"] == VALUE


def test_every_value_handed_to_a_template_is_remembered(secret):
    used = set()
    data = {"secrets": SecretsView(secret.workspace, used=used)}
    assert render({"Authorization": "Bearer {{secrets.API_KEY}}"}, data) == {
        "Authorization": f"Bearer {VALUE}"
    }
    assert used == {VALUE}


def test_names_are_case_insensitive_and_a_missing_secret_is_null(secret):
    data = {"secrets": SecretsView(secret.workspace, used=set())}
    assert render("{{secrets.api_key}}", data) == VALUE
    assert render("{{secrets.NOPE}}", data) is None


def test_a_run_never_sees_another_workspaces_secrets(secret):
    other = make_workspace("globex")
    data = {"secrets": SecretsView(other, used=set())}
    assert render("{{secrets.API_KEY}}", data) is None


# --- mask ----------------------------------------------------------------------------------------


def test_mask_replaces_secret_values_anywhere_in_nested_data():
    stored = mask(
        {"headers": {"Authorization": f"Bearer {VALUE}"},
         "list": [VALUE, {"deep": [f"x{VALUE}y"]}], "count": 3, "ok": True, "none": None},
        {VALUE},
    )  # fmt: skip
    assert stored == {
        "headers": {"Authorization": "Bearer ***"},
        "list": ["***", {"deep": ["x***y"]}], "count": 3, "ok": True, "none": None,
    }  # fmt: skip


def test_mask_returns_a_copy_and_leaves_the_original_alone():
    original = {"a": [VALUE]}
    assert mask(original, {VALUE}) == {"a": ["***"]}
    assert original == {"a": [VALUE]}


def test_mask_hides_secrets_in_error_text_and_in_keys():
    assert mask(f"HTTP 401 from https://api.example/?key={VALUE}: bad key {VALUE}", {VALUE}) == (
        "HTTP 401 from https://api.example/?key=***: bad key ***"
    )
    assert mask({VALUE: 1}, {VALUE}) == {"***": 1}


def test_mask_hides_json_escaped_and_url_encoded_forms():
    tricky = 'p@ss "word"/é'
    assert mask('{"password": "p@ss \\"word\\"/\\u00e9"}', {tricky}) == '{"password": "***"}'
    assert (
        mask("https://x.example/?p=p%40ss+%22word%22%2F%C3%A9", {tricky})
        == "https://x.example/?p=***"
    )


def test_mask_hides_a_number_that_is_a_secret():
    assert mask({"pin": 4821, "other": 12}, {"4821"}) == {"pin": "***", "other": 12}


def test_a_secret_containing_another_is_masked_whole():
    assert mask("token-abc-123", {"abc", "token-abc-123"}) == "***"


def test_mask_with_no_secrets_returns_the_value_unchanged():
    value = {"a": "b"}
    assert mask(value, set()) is value
    assert mask("text", {""}) == "text"


def test_mask_of_the_whole_secrets_mapping_shows_names_only(secret):
    view = SecretsView(secret.workspace, used=set())
    assert mask({"all": view}, {"unrelated"}) == {"all": {"API_KEY": "***"}}


def test_the_engine_stores_step_input_and_output_with_secrets_masked(secret, workspace):
    source = "function main(input) { return {echo: 'key=' + input.key, length: input.key.length} }"
    run = run_workflow(workspace, graph(
        step("use_key", "code", {"source": source, "input": {"key": "{{secrets.API_KEY}}"}}),
    ))  # fmt: skip
    stored = steps_of(run)[("use_key", "")]
    assert stored.status == "succeeded", stored.error
    assert stored.input["input"] == {"key": "***"}
    assert stored.output == {"echo": "key=***", "length": len(VALUE)}


def test_a_secret_the_run_never_names_is_masked_wherever_it_shows_up(secret, workspace):
    """A webhook sender or an API may hand back a secret's value unasked."""
    source = "function main(input) { return {echo: input.leak} }"
    run = run_workflow(
        workspace,
        graph(step("echo", "code", {"source": source, "input": {"leak": "{{trigger.leak}}"}})),
        payload={"leak": f"token {VALUE}"},
    )
    stored = steps_of(run)[("echo", "")]
    assert stored.input["input"] == {"leak": "token ***"}
    assert stored.output == {"echo": "token ***"}


def test_a_secret_used_before_a_resume_and_echoed_after_it_is_masked(secret, workspace):
    use = "function main(input) { return {length: input.key.length} }"
    echo = "function main(input) { return {echo: input.value} }"
    raw = graph(
        step("use", "code", {"source": use, "input": {"key": "{{secrets.API_KEY}}"}}, ["wait"]),
        step("wait", "delay", {"duration": {"amount": 1, "unit": "hours"}}, ["echo"]),
        step("echo", "code", {"source": echo, "input": {"value": "{{trigger.reflected}}"}}),
    )
    run = run_workflow(workspace, raw, payload={"reflected": VALUE})
    assert run.status == RunStatus.WAITING
    WorkflowRun.objects.filter(pk=run.pk).update(resume_at=run.resume_at.replace(year=2000))
    StepRun.objects.filter(run=run, step_id="wait").update(
        started_at=run.resume_at.replace(year=2000)
    )
    assert queue.resume_due_runs() == 1  # a new executor, which never read API_KEY itself
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, run.error
    assert steps_of(run)[("echo", "")].output == {"echo": "***"}
    assert VALUE not in str(list(run.steps.values("input", "output", "error")))


def test_a_failed_runs_error_hides_every_secret(secret, workspace):
    source = "function main(input) { throw new Error('bad key ' + input.value) }"
    run = run_workflow(
        workspace,
        graph(step("fail", "code", {"source": source, "input": {"value": "{{trigger.v}}"}})),
        payload={"v": VALUE},
    )
    assert run.status == RunStatus.FAILED
    assert "bad key ***" in run.error and VALUE not in run.error
    assert VALUE not in steps_of(run)[("fail", "")].error


def test_log_lines_written_during_a_run_hide_every_secret(secret, workspace, caplog):
    @register
    class Explode(StepHandler):  # a handler bug: not a StepError, so it is logged
        type = "test_explode"

        def execute(self, ctx):
            raise RuntimeError(f"could not parse {ctx.data['trigger']['v']}")

    try:
        with caplog.at_level(logging.ERROR):
            run = run_workflow(workspace, graph(step("boom", "test_explode")), payload={"v": VALUE})
    finally:
        REGISTRY.pop("test_explode")
    assert run.status == RunStatus.FAILED
    logged = "\n".join(caplog.text.splitlines())
    assert "could not parse ***" in logged
    assert VALUE not in logged


def test_log_lines_outside_a_run_are_untouched(secret, caplog):
    with caplog.at_level(logging.WARNING):
        logging.getLogger("workflows.test").warning("value %s", VALUE)
    assert VALUE in caplog.text


# --- API -----------------------------------------------------------------------------------------


def test_the_api_lists_names_and_masked_values_never_the_value(api, secret):
    response = api.get("/api/v1/secrets/")
    assert response.status_code == 200
    [listed] = response.json()["results"]
    assert listed["name"] == "API_KEY"
    assert listed["masked"] == secret.masked
    assert "value" not in listed
    assert VALUE not in response.content.decode()


def test_the_api_creates_a_secret_without_echoing_its_value(api, workspace):
    response = api.post(
        "/api/v1/secrets/", {"name": "billing_token", "value": "t0ps3cr3t-value"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "BILLING_TOKEN"
    assert "t0ps3cr3t-value" not in response.content.decode()
    assert Secret.objects.get(workspace=workspace, name="BILLING_TOKEN").value == "t0ps3cr3t-value"


@pytest.mark.parametrize("name", ["1ABC", "API-KEY", "has space", "", "X" * 101])
def test_the_api_refuses_bad_names(api, name):
    response = api.post("/api/v1/secrets/", {"name": name, "value": "v"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_the_api_refuses_a_duplicate_name_whatever_its_case(api, secret):
    response = api.post("/api/v1/secrets/", {"name": "api_key", "value": "other"}, format="json")
    assert response.status_code == 400
    assert response.json()["name"] == ["A secret named API_KEY already exists."]


def test_the_api_refuses_an_empty_value(api):
    response = api.post("/api/v1/secrets/", {"name": "EMPTY", "value": ""}, format="json")
    assert response.status_code == 400
    assert "value" in response.json()


def test_the_api_replaces_a_value_by_name_or_by_id(api, secret):
    by_name = api.patch("/api/v1/secrets/API_KEY/", {"value": "new-value-1"}, format="json")
    assert by_name.status_code == 200, by_name.content
    assert "new-value-1" not in by_name.content.decode()
    by_id = api.put(f"/api/v1/secrets/{secret.pk}/", {"value": "new-value-2"}, format="json")
    assert by_id.status_code == 200
    secret.refresh_from_db()
    assert secret.value == "new-value-2"


def test_the_api_does_not_rename_a_secret(api, secret):
    response = api.patch("/api/v1/secrets/API_KEY/", {"name": "OTHER", "value": "x"}, format="json")
    assert response.status_code == 400
    assert Secret.objects.filter(name="API_KEY").exists()


def test_the_api_deletes_a_secret(api, secret):
    assert api.delete("/api/v1/secrets/API_KEY/").status_code == 204
    assert not Secret.objects.filter(pk=secret.pk).exists()


def test_another_workspaces_secret_is_not_found(api, workspace):
    theirs = Secret.objects.create(workspace=make_workspace("globex"), name="THEIRS", value="v1")
    assert api.get("/api/v1/secrets/").json()["results"] == []
    for path in (f"/api/v1/secrets/{theirs.pk}/", "/api/v1/secrets/THEIRS/"):
        assert api.get(path).status_code == 404
        assert api.patch(path, {"value": "mine"}, format="json").status_code == 404
        assert api.delete(path).status_code == 404
    theirs.refresh_from_db()
    assert theirs.value == "v1"


def test_members_cannot_use_the_secrets_api(workspace, secret):
    member = make_user("member@example.com", workspace, role=Role.MEMBER)
    client = Client()
    client.force_login(member)
    assert client.get("/api/v1/secrets/").status_code == 403
    assert client.post("/api/v1/secrets/", {"name": "X", "value": "y"}).status_code == 403


def test_owners_use_the_secrets_api_with_their_session(owner, secret):
    client = Client()
    client.force_login(owner)
    assert client.get("/api/v1/secrets/").status_code == 200


def test_the_secrets_api_needs_authentication(db, client):
    assert client.get("/api/v1/secrets/").status_code == 401


# --- The settings page ---------------------------------------------------------------------------


@pytest.fixture
def owner_client(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


def post_form(client, data):
    page = client.get("/settings/secrets/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post("/settings/secrets/", {**data, "csrfmiddlewaretoken": token})


def test_an_owner_adds_a_secret_and_never_sees_its_value_again(owner_client, workspace):
    response = post_form(
        owner_client, {"action": "create", "name": "crm_token", "value": "v-123456789"}
    )
    assert response.status_code == 302
    page = owner_client.get("/settings/secrets/")
    html = page.content.decode()
    assert "CRM_TOKEN" in html
    assert "Saved the secret CRM_TOKEN" in html
    assert "v-123456789" not in html
    assert Secret.objects.get(workspace=workspace).value == "v-123456789"


def test_a_bad_name_is_shown_next_to_the_field_and_the_value_is_not_echoed(owner_client):
    response = post_form(
        owner_client, {"action": "create", "name": "9lives", "value": "typed-value"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Use letters, digits and underscores" in html
    assert "typed-value" not in html
    assert not Secret.objects.exists()


def test_a_duplicate_name_is_refused_on_the_page(owner_client, secret):
    response = post_form(owner_client, {"action": "create", "name": "Api_Key", "value": "x"})
    assert response.status_code == 400
    assert "A secret named API_KEY already exists." in response.content.decode()


def test_an_owner_replaces_a_value(owner_client, secret):
    response = post_form(
        owner_client, {"action": "replace", "secret": secret.pk, "value": "rotated-1"}
    )
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.value == "rotated-1"
    assert "rotated-1" not in owner_client.get("/settings/secrets/").content.decode()


def test_replacing_with_an_empty_value_shows_an_error(owner_client, secret):
    response = post_form(owner_client, {"action": "replace", "secret": secret.pk, "value": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    secret.refresh_from_db()
    assert secret.value == VALUE


def test_an_owner_deletes_a_secret(owner_client, secret):
    response = post_form(owner_client, {"action": "delete", "secret": secret.pk})
    assert response.status_code == 302
    assert not Secret.objects.filter(pk=secret.pk).exists()


def test_the_page_cannot_touch_another_workspaces_secret(owner_client):
    theirs = Secret.objects.create(workspace=make_workspace("globex"), name="THEIRS", value="v1")
    assert post_form(owner_client, {"action": "delete", "secret": theirs.pk}).status_code == 404
    assert Secret.objects.filter(pk=theirs.pk).exists()


def test_posting_without_the_csrf_token_is_refused(owner_client):
    response = owner_client.post(
        "/settings/secrets/", {"action": "create", "name": "X", "value": "y"}
    )
    assert response.status_code == 403
    assert not Secret.objects.exists()


def test_members_see_names_only_and_cannot_change_anything(workspace, secret):
    member = make_user("member@example.com", workspace, role=Role.MEMBER)
    client = Client()
    client.force_login(member)
    html = client.get("/settings/secrets/").content.decode()
    assert "API_KEY" in html
    assert secret.masked not in html
    assert 'name="value"' not in html
    response = client.post("/settings/secrets/", {"action": "delete", "secret": secret.pk})
    assert response.status_code == 403
    assert Secret.objects.filter(pk=secret.pk).exists()


def test_the_page_needs_a_login(db, client):
    response = client.get("/settings/secrets/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
