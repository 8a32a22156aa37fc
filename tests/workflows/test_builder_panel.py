"""The builder's settings panel (SPEC 8.1): a form per trigger and step type, built from the
declared settings, that stores exactly what the API's draft PUT would have stored.

The per-type tests are parametrized over the registries, so a new type is covered by itself:
its sample settings come from its declaration (`sample_settings`); only cross-field rules a
declaration cannot say need an entry in OVERRIDES.
"""

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from rest_framework.test import APIClient

from crm.models import Role
from tests.conftest import make_user
from workflows.models import StepRun, Workflow, WorkflowRun
from workflows.settings_schema import ON_ERROR, Setting
from workflows.steps import REGISTRY
from workflows.triggers.kinds import KINDS
from workflows.validation import validate

pytestmark = pytest.mark.django_db

TEXT_TEMPLATE = "Hello {{run.id}}"


def sample_value(setting: Setting, siblings: dict):
    """A valid, non-default value for a setting, from its declaration alone."""
    kind = setting.kind
    if kind in ("text", "textarea"):
        return TEXT_TEMPLATE if setting.templates else "Hello there"
    if kind in ("number", "integer"):
        low = setting.minimum if setting.minimum is not None else 0
        high = setting.maximum if setting.maximum is not None else low + 10
        value = int(low) + 1 if int(low) + 1 <= high else int(low)
        return value if value != setting.default else min(value + 1, int(high))
    if kind == "boolean":
        return not setting.default
    if kind == "choice":
        values = setting.choice_values()
        return next((v for v in reversed(values) if v != setting.default), values[0])
    if kind == "datetime_local":
        return "2030-01-02T09:30"
    if kind == "timezone":
        return "Europe/Paris"
    if kind == "cron":
        return "0 9 * * 1-5"
    if kind == "object":
        return "person"
    if kind == "field":
        return "-email" if setting.descending else "email"
    if kind == "fields":
        return ["email", "city"]
    if kind == "condition":
        return {
            "any": [
                {"left": "{{run.id}}", "op": "ne", "right": "x"},
                {"all": [{"left": "{{now}}", "op": "is_not_empty"}]},
            ]
        }
    if kind == "where":
        return {
            "all": [
                {"field": "email", "op": "eq", "value": "{{run.id}}"},
                {"field": "city", "op": "is_empty"},
            ]
        }
    if kind == "values":
        return {"email": "{{run.id}}@example.com", "first_name": "Ada"}
    if kind == "keyvalue":
        return {"X-One": "1 {{run.id}}", "X-Two": "two"}
    if kind == "code":
        return "function main(input) {\n  return {ok: true};\n}\n"
    if kind == "json":
        return {"amount": 2, "unit": "days", "list": ["x"]}
    if kind == "form_fields":
        return [
            {"name": "budget", "label": "Budget", "type": "number", "required": True},
            {"name": "when", "label": "When", "type": "select", "options": ["soon", "later"]},
            {"name": "who", "label": "Who", "type": "record", "object": "person"},
        ]
    if kind == "branches":
        return [
            {
                "name": "big",
                "when": {"all": [{"left": "{{run.id}}", "op": "eq", "right": "1"}]},
                "next": [],
            },
            {"name": "small", "when": {"any": []}, "next": []},
        ]
    if kind == "tags":
        return "vip, hot"
    if kind == "text_list":
        return "ada@example.com, bob@example.com"
    if kind == "group":
        return {c.name: sample_value(c, {}) for c in setting.children}
    raise AssertionError(f"No sample for setting kind {kind!r}: add one here.")


# Cross-field rules that a declaration cannot say (validate_settings / validate).
OVERRIDES = {
    "delay": lambda s: s.pop("until"),
    "schedule": lambda s: s.pop("every"),
    "date_relative": lambda s: s.update(object="task", field="due_at"),
    "upsert_record": lambda s: s.update(match=["email"]),
    "form": lambda s: s.update(expires={"amount": 2, "unit": "days"}),
}


def sample_settings(schema, type_name: str) -> dict:
    settings = {}
    for setting in schema:
        if setting.kind != "step_ids":
            settings[setting.name] = sample_value(setting, settings)
    if type_name in OVERRIDES:
        OVERRIDES[type_name](settings)
    return settings


def flatten(schema, settings: dict, prefix: str = "") -> list[tuple[str, str]]:
    """The form a person fills for `settings`: (input name, value) pairs, as the panel names
    its inputs (SPEC 8.1)."""
    pairs = []
    for setting in schema:
        if setting.name in settings:
            pairs += _flatten_value(setting, settings[setting.name], prefix + setting.name)
    return pairs


def _flatten_condition(value: dict, path: str, left="left", right="right"):
    join = "any" if "any" in value else "all"
    pairs = [(f"{path}._join", join)]
    for index, item in enumerate(value[join]):
        item_path = f"{path}.{join}.{index}"
        if "all" in item or "any" in item:
            pairs += _flatten_condition(item, item_path, left, right)
        else:
            pairs += [(f"{item_path}.{left}", item[left]), (f"{item_path}.op", item["op"])]
            if right in item:
                pairs.append((f"{item_path}.{right}", item[right]))
    return pairs


def _flatten_value(setting: Setting, value, path: str):
    kind = setting.kind
    if kind == "group":
        return flatten(setting.children, value, prefix=f"{path}.")
    if kind == "boolean":
        return [(path, "false")] + ([(path, "true")] if value else [])
    if kind == "fields":
        return [(path, v) for v in value]
    if kind == "condition":
        return _flatten_condition(value, path)
    if kind == "where":
        return _flatten_condition(value, path, "field", "value")
    if kind == "values":
        return [(f"{path}.{k}", v) for k, v in value.items()]
    if kind == "keyvalue":
        return [
            pair
            for index, (k, v) in enumerate(value.items())
            for pair in ((f"{path}.{index}.key", k), (f"{path}.{index}.value", v))
        ]
    if kind == "json":
        return [(path, json.dumps(value))]
    if kind == "form_fields":
        pairs = []
        for index, field in enumerate(value):
            row = f"{path}.{index}"
            for key in ("name", "label", "type", "placeholder", "default", "object"):
                if key in field:
                    pairs.append((f"{row}.{key}", field[key]))
            pairs.append((f"{row}.required", "false"))
            if field.get("required"):
                pairs.append((f"{row}.required", "true"))
            if "options" in field:
                pairs.append((f"{row}.options", "\n".join(field["options"])))
        return pairs
    if kind == "branches":
        pairs = []
        for index, branch in enumerate(value):
            row = f"{path}.{index}"
            pairs += [(f"{row}._from", str(index)), (f"{row}.name", branch["name"])]
            pairs += _flatten_condition(branch["when"], f"{row}.when")
        return pairs
    return [(path, value if isinstance(value, str) else str(value))]


class InputNames(HTMLParser):
    """The names of a page's form inputs, and the accessible names of its buttons."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self.buttons: list[str] = []
        self._button: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            self.names.add(attrs["name"])
        if tag == "button":
            self._button = {"label": attrs.get("aria-label"), "text": ""}

    def handle_data(self, data):
        if self._button is not None:
            self._button["text"] += data

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.buttons.append(self._button["label"] or " ".join(self._button["text"].split()))
            self._button = None


def parse_page(html: str) -> InputNames:
    parser = InputNames()
    parser.feed(html)
    return parser


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def api(owner):
    client = APIClient()
    client.force_authenticate(owner)
    return client


def new_workflow(api, graph: dict) -> str:
    workflow = api.post("/api/v1/workflows/", {"name": "Panel"}, format="json").json()
    response = api.put(f"/api/v1/workflows/{workflow['id']}/draft/", graph, format="json")
    assert response.status_code == 200, response.content
    return workflow["id"]


def draft_of(api, workflow_id: str) -> dict:
    return api.get(f"/api/v1/workflows/{workflow_id}/draft/").json()


def panel_url(workflow_id: str, step_id: str) -> str:
    return f"/workflows/{workflow_id}/builder/steps/{step_id}/panel/"


def step_graph(step_type: str, settings: dict | None = None) -> dict:
    """A manual trigger leading to step `s` of `step_type`; an iterator gets a body and an
    if/else a step on each branch, so the graph can validate."""
    step = {"id": "s", "name": "Step", "type": step_type, "settings": settings or {}, "next": []}
    steps = [step]
    if step_type == "iterator":
        step["settings"]["loop"] = ["body"]
        steps.append({"id": "body", "name": "Body", "type": "filter",
                      "settings": {"when": {"all": []}}, "next": []})  # fmt: skip
    if step_type == "if_else":
        step["settings"]["else_next"] = ["other"]
        steps.append({"id": "other", "name": "Other", "type": "filter",
                      "settings": {"when": {"all": []}}, "next": []})  # fmt: skip
    return {"trigger": {"type": "manual", "settings": {}, "next": ["s"]}, "steps": steps}


def post_panel(browser, workflow_id, step_id, pairs, **extra):
    data = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    for name, value in extra.items():
        data[name] = [value]
    return browser.post(panel_url(workflow_id, step_id), data, HTTP_HX_REQUEST="true")


# --- every type, filled through its panel ----------------------------------------------------


@pytest.mark.parametrize("trigger_type", sorted(KINDS))
def test_each_trigger_panel_stores_what_the_api_would(browser, api, trigger_type):
    kind = KINDS[trigger_type]
    settings = sample_settings(kind.settings_schema, trigger_type)
    graph = {"trigger": {"type": trigger_type, "settings": {}, "next": []}, "steps": []}
    filled = new_workflow(api, graph)

    response = post_panel(browser, filled, "trigger", flatten(kind.settings_schema, settings))

    assert response.status_code == 200, response.content
    assert "builder:changed" in response["HX-Trigger"]
    expected = {**graph, "trigger": {**graph["trigger"], "settings": settings}}
    by_api = new_workflow(api, expected)
    assert draft_of(api, filled) == draft_of(api, by_api)
    assert [p.message for p in validate(draft_of(api, filled))] == []
    names = parse_page(browser.get(panel_url(filled, "trigger")).content.decode()).names
    assert {name for name, _ in flatten(kind.settings_schema, settings)} <= names


@pytest.mark.parametrize("step_type", sorted(REGISTRY))
def test_each_step_panel_stores_what_the_api_would(browser, api, step_type):
    handler = REGISTRY[step_type]
    settings = sample_settings(handler.settings_schema, step_type)
    on_error = {"retry": 2, "backoff_s": 5, "continue": True}
    graph = step_graph(step_type)
    filled = new_workflow(api, graph)
    pairs = flatten(handler.settings_schema, settings) + flatten([ON_ERROR], {"on_error": on_error})

    response = post_panel(browser, filled, "s", pairs, name="Renamed")

    assert response.status_code == 200, response.content
    expected = step_graph(step_type)
    step = expected["steps"][0]
    kept = {k: v for k, v in step["settings"].items() if k in ("loop", "else_next")}
    step.update(name="Renamed", settings={**settings, **kept}, on_error=on_error)
    for branch in step["settings"].get("branches") or []:
        branch["next"] = []
    by_api = new_workflow(api, expected)
    assert draft_of(api, filled) == draft_of(api, by_api)
    assert [p.message for p in validate(draft_of(api, filled))] == []
    names = parse_page(browser.get(panel_url(filled, "s")).content.decode()).names
    assert {name for name, _ in pairs} <= names


@pytest.mark.parametrize("step_type", sorted(REGISTRY))
def test_each_step_panel_saved_unchanged_keeps_the_step_as_it_was(browser, api, step_type):
    """Posting back what the panel shows changes nothing (numbers stay numbers)."""
    handler = REGISTRY[step_type]
    graph = step_graph(step_type, sample_settings(handler.settings_schema, step_type))
    graph["steps"][0]["on_error"] = {"retry": 1}
    workflow_id = new_workflow(api, graph)
    before = draft_of(api, workflow_id)
    pairs = flatten(handler.settings_schema, graph["steps"][0]["settings"])
    pairs += [("on_error.retry", "1"), ("on_error.backoff_s", "0")]

    post_panel(browser, workflow_id, "s", pairs, name="Step")

    assert draft_of(api, workflow_id) == before


# --- bad input --------------------------------------------------------------------------------


def find_graph():
    return step_graph("find_records", {"object": "person", "limit": 10})


def test_a_bad_number_is_shown_inline_with_publishs_message_and_publish_refuses(browser, api):
    workflow_id = new_workflow(api, find_graph())

    response = post_panel(browser, workflow_id, "s", [("object", "person"), ("limit", "lots")])

    html = response.content.decode()
    assert 'id="setting-limit-error">limit must be a number.' in html
    draft = draft_of(api, workflow_id)
    assert draft["steps"][0]["settings"]["limit"] == "lots"
    assert "limit must be a number." in [p.message for p in validate(draft)]
    assert api.post(f"/api/v1/workflows/{workflow_id}/publish/").status_code == 400


def test_json_that_does_not_parse_is_refused_and_nothing_is_stored(browser, api):
    graph = step_graph("http_request", {"method": "POST", "url": "https://example.com/"})
    workflow_id = new_workflow(api, graph)
    before = draft_of(api, workflow_id)

    response = post_panel(
        browser, workflow_id, "s", [("url", "https://example.com/"), ("body", '{"a": 1,}')]
    )

    assert "body is not valid JSON" in response.content.decode()
    assert "HX-Trigger" not in response
    assert draft_of(api, workflow_id) == before


def test_an_unknown_field_in_where_is_shown_on_the_condition(browser, api):
    workflow_id = new_workflow(api, find_graph())

    response = post_panel(
        browser, workflow_id, "s",
        [("object", "person"), ("where.all.0.field", "shoe_size"), ("where.all.0.op", "eq"),
         ("where.all.0.value", "42")],
    )  # fmt: skip

    assert "where: person has no field &#x27;shoe_size&#x27;." in response.content.decode()


def test_a_save_on_a_stale_draft_is_refused_with_409_and_changes_nothing(browser, api):
    workflow_id = new_workflow(api, find_graph())
    revision = Workflow.objects.get(pk=workflow_id).draft.revision
    changed = find_graph()
    changed["steps"][0]["settings"]["limit"] = 20  # another tab saved meanwhile
    api.put(f"/api/v1/workflows/{workflow_id}/draft/", changed, format="json")
    before = draft_of(api, workflow_id)

    response = post_panel(
        browser, workflow_id, "s", [("object", "company")], revision=str(revision)
    )

    assert response.status_code == 409
    assert "This draft changed, reload" in response.content.decode()
    assert draft_of(api, workflow_id) == before


def test_an_unknown_step_answers_404(browser, api):
    workflow_id = new_workflow(api, find_graph())
    assert browser.get(panel_url(workflow_id, "nope")).status_code == 404
    assert post_panel(browser, workflow_id, "nope", [("object", "person")]).status_code == 404


def test_a_member_sees_the_panel_read_only_and_cannot_save(api, workspace):
    workflow_id = new_workflow(api, find_graph())
    member = make_user("member@example.com", workspace=workspace, role=Role.MEMBER)
    client = Client()
    client.force_login(member)

    page = client.get(panel_url(workflow_id, "s")).content.decode()
    response = post_panel(client, workflow_id, "s", [("object", "company")])

    assert '<fieldset class="panel-settings" disabled>' in page
    assert response.status_code == 403
    assert draft_of(api, workflow_id)["steps"][0]["settings"]["object"] == "person"


def test_another_workspace_cannot_open_the_panel(api, browser, workspace):
    from tests.conftest import make_workspace

    workflow_id = new_workflow(api, find_graph())
    other = make_user("other@example.com", workspace=make_workspace("other"))
    client = Client()
    client.force_login(other)
    assert client.get(panel_url(workflow_id, "s")).status_code == 404


# --- rows: Add condition, Add branch, Add field --------------------------------------------


def test_add_condition_draws_a_new_row_without_saving(browser, api):
    workflow_id = new_workflow(api, find_graph())
    before = draft_of(api, workflow_id)

    response = post_panel(
        browser, workflow_id, "s", [("object", "person"), ("_action", "add:where.all")]
    )

    page = parse_page(response.content.decode())
    assert {"where.all.0.field", "where.all.0.op", "where.all.0.value"} <= page.names
    assert draft_of(api, workflow_id) == before


def test_add_branch_then_save_keeps_the_existing_branch_edges(browser, api):
    graph = step_graph("if_else")
    graph["steps"][0]["settings"]["branches"] = [
        {"name": "yes", "when": {"all": []}, "next": ["yes_step"]}
    ]
    graph["steps"].append({"id": "yes_step", "name": "Yes", "type": "filter",
                           "settings": {"when": {"all": []}}, "next": []})  # fmt: skip
    workflow_id = new_workflow(api, graph)

    added = post_panel(
        browser, workflow_id, "s",
        [("branches.0._from", "0"), ("branches.0.name", "yes"), ("_action", "add:branches")],
    )  # fmt: skip
    page = parse_page(added.content.decode())
    assert {"branches.1.name", "branches.1.when.all.0.left"} <= page.names
    assert "Add branch" in page.buttons and "Add condition" in page.buttons

    post_panel(
        browser, workflow_id, "s",
        [("branches.0._from", "", ), ("branches.0.name", "new"),
         ("branches.1._from", "0"), ("branches.1.name", "yes")],
    )  # fmt: skip

    branches = draft_of(api, workflow_id)["steps"][0]["settings"]["branches"]
    assert [(b["name"], b["next"]) for b in branches] == [("new", []), ("yes", ["yes_step"])]


def test_add_field_in_the_form_designer(browser, api):
    workflow_id = new_workflow(api, step_graph("form", {"title": "Q"}))

    response = post_panel(browser, workflow_id, "s", [("title", "Q"), ("_action", "add:fields")])

    page = parse_page(response.content.decode())
    assert {"fields.0.name", "fields.0.label", "fields.0.type"} <= page.names
    assert "Add field" in page.buttons


def test_the_record_editor_has_one_input_per_field_of_the_chosen_object(browser, api):
    workflow_id = new_workflow(api, step_graph("create_record", {"object": "company"}))

    page = parse_page(browser.get(panel_url(workflow_id, "s")).content.decode())

    assert {"values.name", "values.domain", "values.employees", "values.owner"} <= page.names
    assert "values.id" not in page.names and "values.created_at" not in page.names


def test_the_panel_has_the_contract_buttons(browser, api):
    workflow_id = new_workflow(api, find_graph())

    page = parse_page(browser.get(panel_url(workflow_id, "s")).content.decode())

    for button in ("Save", "Add condition", "Delete step", "Duplicate step"):
        assert button in page.buttons
    assert {"name", "object", "limit", "on_error.retry"} <= page.names


def test_every_template_field_has_an_insert_variable_button(browser, api):
    workflow_id = new_workflow(api, step_graph("send_email", {"to": "a@example.com"}))

    page = parse_page(browser.get(panel_url(workflow_id, "s")).content.decode())

    assert page.buttons.count("Insert variable") == 4  # to, cc, subject, body


# --- the variable picker -----------------------------------------------------------------------


def lead_graph():
    return {
        "trigger": {
            "type": "webhook",
            "settings": {"method": "POST", "expected_body": {"email": "text", "age": "number"}},
            "next": ["find"],
        },
        "steps": [
            {"id": "find", "name": "Find person", "type": "find_records",
             "settings": {"object": "person"}, "next": ["each"]},
            {"id": "each", "name": "Each", "type": "iterator",
             "settings": {"items": "{{steps.find.records}}", "loop": ["touch"]}, "next": ["mail"]},
            {"id": "touch", "name": "Touch", "type": "update_record",
             "settings": {"object": "person", "id": "{{steps.each.item.id}}"}, "next": []},
            {"id": "mail", "name": "Mail", "type": "send_email",
             "settings": {"to": "a@example.com"}, "next": []},
        ],
    }  # fmt: skip


def picker_entries(browser, workflow_id, step_id) -> list[str]:
    html = browser.get(panel_url(workflow_id, step_id)).content.decode()
    picker = html[html.index("data-variable-picker") :]
    return re.findall(r'data-variable="([^"]+)"', picker)


def test_the_variable_picker_offers_the_find_steps_count_after_it(browser, api):
    workflow_id = new_workflow(api, lead_graph())

    entries = picker_entries(browser, workflow_id, "mail")

    assert "steps.find.count" in entries
    assert "steps.find.records" in entries and "steps.find.first.email" in entries
    page = parse_page(browser.get(panel_url(workflow_id, "mail")).content.decode())
    assert "steps.find.count" in page.buttons


def test_the_variable_picker_offers_only_what_runs_before(browser, api):
    workflow_id = new_workflow(api, lead_graph())

    entries = picker_entries(browser, workflow_id, "find")

    assert "trigger.body.email" in entries and "trigger.body.age" in entries
    assert not [e for e in entries if e.startswith("steps.")]


def test_inside_an_iterator_the_picker_offers_item_and_index(browser, api):
    workflow_id = new_workflow(api, lead_graph())

    inside = picker_entries(browser, workflow_id, "touch")
    after = picker_entries(browser, workflow_id, "mail")

    assert {"steps.each.item", "steps.each.item.email", "steps.each.index"} <= set(inside)
    assert "steps.each.item" not in after and "steps.each.count" in after


def test_the_picker_offers_the_last_test_runs_outputs(browser, api):
    graph = lead_graph()
    workflow_id = new_workflow(api, graph)
    workflow = Workflow.objects.get(pk=workflow_id)
    run = WorkflowRun.objects.create(
        workspace=workflow.workspace, workflow=workflow, version=workflow.draft,
        source=WorkflowRun.Source.TEST, trigger_payload={"body": {"utm": {"source": "ad"}}},
    )  # fmt: skip
    StepRun.objects.create(run=run, step_id="find", type="find_records", status="succeeded",
                           output={"count": 1, "extra": {"score": 3}})  # fmt: skip

    entries = picker_entries(browser, workflow_id, "mail")

    assert "trigger.body.utm.source" in entries and "steps.find.extra.score" in entries


# --- the webhook trigger ----------------------------------------------------------------------


def test_the_webhook_panel_shows_the_url_with_a_copy_button(browser, api):
    workflow_id = new_workflow(api, lead_graph())
    token = Workflow.objects.get(pk=workflow_id).webhook_token

    html = browser.get(panel_url(workflow_id, "trigger")).content.decode()

    assert f"/webhooks/{token}/" in html
    assert {"Copy", "Rotate secret"} <= set(parse_page(html).buttons)


def test_an_admin_rotates_the_webhook_secret_from_the_panel(browser, api):
    workflow_id = new_workflow(api, lead_graph())
    old = Workflow.objects.get(pk=workflow_id).webhook_secret

    response = browser.post(f"/workflows/{workflow_id}/builder/webhook/secret/")

    new = Workflow.objects.get(pk=workflow_id).webhook_secret
    assert response.status_code == 200 and new != old
    assert new in response.content.decode()


def test_a_member_cannot_rotate_the_webhook_secret(api, workspace):
    workflow_id = new_workflow(api, lead_graph())
    old = Workflow.objects.get(pk=workflow_id).webhook_secret
    member = make_user("member@example.com", workspace=workspace, role=Role.MEMBER)
    client = Client()
    client.force_login(member)

    html = client.get(panel_url(workflow_id, "trigger")).content.decode()
    response = client.post(f"/workflows/{workflow_id}/builder/webhook/secret/")

    assert "Rotate secret" not in html
    assert response.status_code in (302, 403)
    assert Workflow.objects.get(pk=workflow_id).webhook_secret == old
