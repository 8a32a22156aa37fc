"""Real requests and responses of every operation, validated against the served OpenAPI
document with openapi-core (SPEC section 7; issue 16, "must show" 2).

Every call goes through `Conformance.call`, which sends it with the Django test client,
validates the request (when it is meant to be valid) and the response (always) against
`/api/schema/`, and records the operation. The scenario test must touch every operation of the
document; the sweeps send each operation the requests that must fail (no key, unknown id,
a body that is not JSON, a body of the wrong type, a member's role) and check that every answer
is one the document lists, in the `Error` shape.
"""

import json
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openapi_core import Config, OpenAPI
from openapi_core.deserializing.media_types.util import plain_loads
from openapi_core.testing import MockRequest, MockResponse
from rest_framework.test import APIClient

from crm.models import ApiKey, Role
from tests.conftest import make_user
from tests.workflows.helpers import graph, step

from .api_factories import PLURALS, VALID_BODIES, VALID_CSV, make_records

SERVER = "http://testserver"
METHODS = ("get", "put", "post", "patch", "delete")

# Bodies for the create and PUT of each record object, with every kind of field.
RICH_BODIES = {
    "companies": {"name": "Initech", "domain": "initech.test", "employees": 40, "tags": ["b2b"]},
    "people": {"first_name": "Grace", "email": "", "tags": ["vip"], "custom": {"tier": 1}},
    "opportunities": {"name": "Upsell", "stage": "won", "amount": 1200.5},
    "tasks": {"title": "Send the quote", "status": "todo"},
    "notes": {"title": "Call notes", "body": "Interested."},
    "meetings": {"title": "Review", "starts_at": "2026-12-04T09:00:00Z"},
}


@pytest.fixture(scope="module")
def document(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture(scope="module")
def openapi(document):
    # CSV is text: read like text/plain. No body may carry a key the document omits.
    config = Config(
        extra_media_type_deserializers={"text/csv": plain_loads},
        additional_properties_default_policy="forbid",
    )
    return OpenAPI.from_dict(document, config=config)


def operations_of(document) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    }


@dataclass
class Conformance:
    openapi: OpenAPI
    client: APIClient
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    seen: set = field(default_factory=set)
    mismatches: list = field(default_factory=list)

    def call(
        self,
        method: str,
        template: str,
        *,
        path: dict | None = None,
        query: dict | None = None,
        body=None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        files: dict | None = None,
        expect: int | None = None,
        valid_request: bool = True,
    ):
        """Sends one request; validates it and its response; returns the response."""
        url = "/api/v1" + template.format(**(path or {}))
        full = url + ("?" + urlencode(query) if query else "")
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in self.headers.items()}
        extra.pop("HTTP_AUTHORIZATION", None)  # the client's credentials send it
        if files is not None:
            response = getattr(self.client, method)(full, files, format="multipart", **extra)
            data, content_type = b"", "multipart/form-data"  # its response is still checked
        else:
            data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
            response = getattr(self.client, method)(
                full, data or None, content_type=content_type if data else None, **extra
            )
        self.seen.add((method, "/api/v1" + template))
        request = MockRequest(
            SERVER,
            method,
            url,
            args=query,
            headers={**self.headers, **({"Content-Type": content_type} if data else {})},
            cookies=self.cookies,
            data=data,
            content_type=content_type,
        )
        where = f"{method.upper()} {full} -> {response.status_code}"
        if expect is not None and response.status_code != expect:
            self.mismatches.append(f"{where}: expected {expect}: {_text(response)[:300]}")
        if valid_request and files is None:
            self._validate(where, "request", lambda: self.openapi.validate_request(request))
        self._validate(
            where,
            "response",
            lambda: self.openapi.validate_response(request, _mock_response(response)),
        )
        return response

    def _validate(self, where, what, check):
        try:
            check()
        except Exception as error:  # noqa: BLE001 - every mismatch is collected and reported
            causes = _causes(error)
            self.mismatches.append(f"{where}: {what}: {error!r} {causes}"[:1500])

    def assert_no_mismatch(self):
        assert not self.mismatches, "\n".join(self.mismatches)


def _causes(error) -> str:
    parts = []
    while error is not None:
        extra = getattr(error, "schema_errors", None)
        if extra:
            parts.extend(f"{list(e.path)}: {e.message}" for e in extra)
        error = error.__cause__
    return "; ".join(parts)


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return "<stream>"
    return response.content.decode(errors="replace")


def _mock_response(response) -> MockResponse:
    content = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    content_type = response.get("Content-Type", "application/json").split(";")[0]
    headers = {key: value for key, value in response.items()}
    return MockResponse(content, response.status_code, headers, content_type)


def key_client(workspace) -> tuple[APIClient, dict]:
    _, raw = ApiKey.issue(workspace)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def check(openapi, workspace):
    client, headers = key_client(workspace)
    return Conformance(openapi, client, headers)


# --- Every operation, as a client uses it ----------------------------------------------------


def test_every_operation_answers_as_the_document_says(check, document, workspace):
    made = make_records(workspace)
    for plural in PLURALS:
        exercise_records(check, plural, made[plural])
    exercise_workflows(check, workspace, made["people"])
    exercise_secrets(check)

    check.assert_no_mismatch()
    missing = operations_of(document) - check.seen
    assert not missing, f"operations never exercised: {sorted(missing)}"


def exercise_records(check, plural, existing):
    one = "/" + plural + "/{id}/"
    listed = check.call("get", f"/{plural}/", query={"page_size": 2}, expect=200)
    assert listed.json()["count"] >= 1
    check.call("get", one, path={"id": existing.pk}, expect=200)
    created = check.call("post", f"/{plural}/", body=RICH_BODIES[plural], expect=201).json()
    ids = {"id": created["id"]}
    check.call("put", one, path=ids, body=VALID_BODIES[plural], expect=200)
    check.call("patch", one, path=ids, body=RICH_BODIES[plural], expect=200)
    check.call("post", one + "archive/", path=ids, expect=200)
    check.call("post", one + "archive/", path=ids, expect=409)
    check.call("get", f"/{plural}/", query={"archived": "true"}, expect=200)
    check.call("post", one + "restore/", path=ids, expect=200)
    check.call("post", one + "restore/", path=ids, expect=409)
    check.call("get", f"/{plural}/", query={"ordering": "nonsense_field"}, valid_request=False)
    check.call("get", f"/{plural}/export/", expect=200)
    check.call(
        "get", f"/{plural}/export/", query={"archived": "maybe"}, expect=400, valid_request=False
    )
    text = VALID_CSV[plural].encode()
    check.call("post", f"/{plural}/import/", raw=text, content_type="text/csv", expect=200)
    upload = SimpleUploadedFile(f"{plural}.csv", text, content_type="text/csv")
    check.call("post", f"/{plural}/import/", files={"file": upload}, expect=200)
    check.call(
        "post",
        f"/{plural}/import/",
        query={"match": "id"},
        raw=b"name\n",
        content_type="text/csv",
        expect=400,
    )
    check.call("post", f"/{plural}/", body={"no_such_field": 1}, expect=400, valid_request=False)
    check.call("delete", one, path=ids, expect=204)
    check.call("get", one, path=ids, expect=404)


WAIT_A_DAY = graph(step("wait", "delay", {"duration": {"amount": 1, "unit": "days"}}))
FAILS = graph(
    step("up", "update_record", {"object": "person", "id": "{{trigger.id}}", "values": {}})
)
MAKE_TASK = graph(
    step(
        "make",
        "create_record",
        {"object": "task", "values": {"title": "Call {{trigger.record.first_name}}"}},
    ),
    trigger={"type": "manual", "settings": {"object": "person"}},
)
ASK = graph(
    step(
        "ask",
        "form",
        {
            "title": "Qualify",
            "fields": [{"name": "budget", "label": "Budget", "type": "number", "required": True}],
        },
    )
)


def exercise_workflows(check, workspace, person):
    workflow = new_workflow(check, "Lifecycle")
    ids = {"id": workflow["id"]}
    wf = "/workflows/{id}/"
    check.call("get", "/workflows/", query={"search": "Life", "status": "inactive"}, expect=200)
    check.call("get", wf, path=ids, expect=200)
    check.call("put", wf, path=ids, body={"name": "Renamed", "description": "d"}, expect=200)
    check.call("patch", wf, path=ids, body={"description": "Calls back"}, expect=200)
    check.call("get", wf + "draft/", path=ids, expect=200)
    check.call(
        "put",
        wf + "draft/",
        path=ids,
        body={"steps": [{"id": "x"}]},
        expect=400,
        valid_request=False,
    )
    saved = check.call("put", wf + "draft/", path=ids, body=MAKE_TASK, expect=200)
    check.headers["If-Match"] = saved["ETag"]
    moved = {**MAKE_TASK, "layout": {"make": {"x": 10, "y": 20}}}
    check.call("put", wf + "draft/", path=ids, body=moved, expect=200)
    check.call("put", wf + "draft/", path=ids, body=MAKE_TASK, expect=409)  # a stale copy
    del check.headers["If-Match"]
    check.call("post", wf + "activate/", path=ids, expect=400)  # never published
    check.call("post", wf + "validate/", path=ids, expect=200)
    version = check.call("post", wf + "publish/", path=ids, expect=200).json()
    check.call("get", wf + "versions/", path=ids, expect=200)
    check.call("post", wf + "deactivate/", path=ids, expect=200)
    check.call("post", wf + "activate/", path=ids, expect=200)
    run_ids = check.call(
        "post", wf + "run/", path=ids, body={"record_id": str(person.pk)}, expect=202
    ).json()["run_ids"]
    check.call("post", wf + "run/", path=ids, body={"record_ids": [str(person.pk)]}, expect=202)
    check.call("get", "/runs/{id}/", path={"id": run_ids[0]}, expect=200)
    check.call(
        "get", "/runs/", query={"workflow": workflow["id"], "status": "completed"}, expect=200
    )
    check.call("get", "/runs/", query={"source": "manual"}, expect=200)
    check.call("get", "/runs/", query={"workflow": "bogus"}, expect=400, valid_request=False)
    restore = wf + "versions/{number}/restore/"
    check.call("post", restore, path={**ids, "number": version["number"]}, expect=200)
    check.call("post", restore, path={**ids, "number": 99}, expect=404)
    check.call("post", wf + "rotate-secret/", path=ids, expect=200)
    check.call("post", wf + "test/", path=ids, body={"payload": {"a": 1}}, expect=202)
    check.call("delete", wf + "draft/", path=ids, expect=204)
    check.call("get", wf + "draft/", path=ids, expect=404)
    check.call("post", wf + "publish/", path=ids, expect=400)  # no draft left
    exercise_runs(check)
    exercise_forms(check)
    check.call("delete", wf, path=ids, expect=204)
    check.call("post", "/workflows/", body={"name": ""}, expect=400, valid_request=False)


def new_workflow(check, name, graph_=None) -> dict:
    body = {"name": name, **({"graph": graph_} if graph_ else {})}
    return check.call("post", "/workflows/", body=body, expect=201).json()


def exercise_runs(check):
    waiting = new_workflow(check, "Waits", WAIT_A_DAY)
    run_id = check.call(
        "post", "/workflows/{id}/test/", path={"id": waiting["id"]}, body={}, expect=202
    ).json()["run_id"]
    check.call("post", "/runs/{id}/cancel/", path={"id": run_id}, expect=200)
    check.call("post", "/runs/{id}/cancel/", path={"id": run_id}, expect=409)
    check.call("post", "/runs/{id}/retry/", path={"id": run_id}, expect=409)
    failing = new_workflow(check, "Fails", FAILS)
    failed_id = check.call(
        "post", "/workflows/{id}/test/", path={"id": failing["id"]}, body={}, expect=202
    ).json()["run_id"]
    check.call("get", "/runs/{id}/", path={"id": failed_id}, expect=200)
    check.call("post", "/runs/{id}/retry/", path={"id": failed_id}, expect=202)


def exercise_forms(check):
    asking = new_workflow(check, "Asks", ASK)
    check.call("post", "/workflows/{id}/publish/", path={"id": asking["id"]}, expect=200)
    check.call("post", "/workflows/{id}/run/", path={"id": asking["id"]}, body={}, expect=202)
    forms = check.call("get", "/forms/", expect=200).json()["results"]
    form = {"id": forms[0]["id"]}
    check.call("post", "/forms/{id}/submit/", path=form, body={"values": {}}, expect=400)
    check.call("post", "/forms/{id}/submit/", path=form, body={"values": {"budget": 5}}, expect=200)
    check.call("post", "/forms/{id}/submit/", path=form, body={"values": {"budget": 5}}, expect=409)


def exercise_secrets(check):
    created = check.call(
        "post", "/secrets/", body={"name": "CRM_TOKEN", "value": "s3cret"}, expect=201
    ).json()
    check.call("post", "/secrets/", body={"name": "CRM_TOKEN", "value": "x"}, expect=400)
    check.call("get", "/secrets/", expect=200)
    by_id, by_name = {"id": created["id"]}, {"id": "CRM_TOKEN"}
    check.call("get", "/secrets/{id}/", path=by_name, expect=200)
    check.call("put", "/secrets/{id}/", path=by_id, body={"value": "new"}, expect=200)
    check.call("patch", "/secrets/{id}/", path=by_name, body={"value": "newer"}, expect=200)
    check.call(
        "patch", "/secrets/{id}/", path=by_name, body={"name": "OTHER", "value": "v"}, expect=400
    )
    check.call("delete", "/secrets/{id}/", path=by_id, expect=204)


# --- The requests that must fail, for every operation ----------------------------------------


def _sweep(check, document, *, ids: dict, body=None, raw=None, content_type=None, only=None):
    for method, full in sorted(operations_of(document)):
        operation = document["paths"][full][method]
        if only and not only(operation):
            continue
        template = full.removeprefix("/api/v1")
        path = {name: ids.get(name, "1") for name in re.findall(r"{(\w+)}", template)}
        kwargs = {}
        if "requestBody" in operation:
            kwargs = {"raw": raw} if raw is not None else {"body": body}
            kwargs.update({"content_type": content_type} if content_type else {})
        yield (
            method,
            check.call(method, template, path=path, valid_request=False, **kwargs),
            template,
        )


def _takes_json(operation) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def test_every_operation_without_a_key_answers_401_in_the_error_shape(openapi, document):
    check = Conformance(openapi, APIClient())
    for _, response, template in _sweep(check, document, ids={}):
        assert response.status_code == 401, template
    check.assert_no_mismatch()


def test_every_operation_on_an_unknown_id_answers_404_in_the_error_shape(check, document):
    unknown = {"id": str(uuid.uuid4()), "number": "1"}
    for method, response, template in _sweep(check, document, ids=unknown):
        if "{id}" in template:
            assert response.status_code == 404, (method, template, response.content)
    check.assert_no_mismatch()


def test_every_json_operation_refuses_a_body_that_is_not_json_with_415(check, document):
    workflow = new_workflow(check, "Target", MAKE_TASK)
    for _, response, template in _sweep(
        check,
        document,
        ids={"id": workflow["id"]},
        raw=b"name=x",
        content_type="application/x-www-form-urlencoded",
        only=_takes_json,
    ):
        # The id is the workflow's: elsewhere an operation on an id may answer 404 first.
        if "{id}" not in template or template.startswith("/workflows/"):
            assert response.status_code == 415, (template, response.content)
    check.assert_no_mismatch()


def test_every_json_operation_refuses_a_body_of_the_wrong_type_with_400(check, document):
    workflow = new_workflow(check, "Target", MAKE_TASK)
    for _, response, template in _sweep(
        check, document, ids={"id": workflow["id"]}, body=["not", "an", "object"], only=_takes_json
    ):
        if template.startswith("/workflows/"):
            assert response.status_code == 400, (template, response.content)
    check.assert_no_mismatch()


def test_a_members_answers_are_documented_including_403(openapi, document, workspace):
    member = make_user("member@example.com", workspace, role=Role.MEMBER)
    client = APIClient()
    client.force_login(member)
    check = Conformance(openapi, client, cookies={"sessionid": client.cookies["sessionid"].value})
    workflow = new_workflow(Conformance(openapi, key_client(workspace)[0]), "Theirs", MAKE_TASK)
    forbidden = [
        status
        for method, response, template in _sweep(
            check, document, ids={"id": workflow["id"]}, body={}
        )
        if (status := response.status_code) == 403
    ]
    assert forbidden, "a member may not change workflows or secrets"
    check.assert_no_mismatch()


def test_an_unknown_api_path_answers_the_json_error(openapi, check):
    response = check.client.get("/api/v1/planets/")
    assert response.status_code == 404
    body = response.json()
    assert body["errors"] == [] and "No API endpoint" in body["detail"]
