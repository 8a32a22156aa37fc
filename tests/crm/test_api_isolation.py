"""Nothing crosses workspaces (SPEC sections 2 and 7): every record endpoint, for every object,
answers another workspace's caller 404 (never 403), and a caller without a valid key 401."""

import pytest
from rest_framework.test import APIClient

from crm.models import ApiKey
from crm.objects import BY_PLURAL
from tests.conftest import make_user, make_workspace

from .api_factories import PLURALS, VALID_BODIES, VALID_CSV, client_for, make_records

DETAIL_CALLS = ["retrieve", "patch", "put", "delete"]
EVERY_CALL = ["list", *DETAIL_CALLS, "export", "import"]


@pytest.fixture
def first(db):
    workspace = make_workspace("first")
    return workspace, make_records(workspace)


@pytest.fixture
def intruder(db):
    """A valid key of another workspace, which has records of its own."""
    workspace = make_workspace("second")
    make_records(workspace)
    return client_for(workspace)


def call(client: APIClient, action: str, plural: str, record=None):
    base = f"/api/v1/{plural}/"
    detail = (
        f"{base}{record.pk}/"
        if record is not None
        else f"{base}00000000-0000-0000-0000-000000000000/"
    )
    if action == "list":
        return client.get(base)
    if action == "retrieve":
        return client.get(detail)
    if action == "patch":
        return client.patch(detail, VALID_BODIES[plural], format="json")
    if action == "put":
        return client.put(detail, VALID_BODIES[plural], format="json")
    if action == "delete":
        return client.delete(detail)
    if action == "export":
        return client.get(f"{base}export/")
    if action == "import":
        return client.post(f"{base}import/", VALID_CSV[plural], content_type="text/csv")
    raise AssertionError(action)


def snapshot(record) -> dict:
    return {f.attname: getattr(record, f.attname) for f in record._meta.concrete_fields}


@pytest.mark.parametrize("action", DETAIL_CALLS)
@pytest.mark.parametrize("plural", PLURALS)
def test_another_workspaces_key_gets_404_on_every_record_and_changes_nothing(
    first, intruder, plural, action
):
    _, records = first
    record = records[plural]
    before = snapshot(record)

    response = call(intruder, action, plural, record)

    assert response.status_code == 404, response.content
    assert "detail" in response.json()
    record.refresh_from_db()  # still there
    assert snapshot(record) == before


@pytest.mark.parametrize("plural", PLURALS)
def test_another_workspaces_list_does_not_show_the_first_workspaces_records(
    first, intruder, plural
):
    _, records = first

    listed = intruder.get(f"/api/v1/{plural}/?page_size=500").json()

    ids = {row["id"] for row in listed["results"]}
    assert listed["count"] == 1  # its own record only
    assert str(records[plural].pk) not in ids


@pytest.mark.parametrize("plural", PLURALS)
def test_filtering_by_another_workspaces_id_finds_nothing(first, intruder, plural):
    _, records = first

    listed = intruder.get(f"/api/v1/{plural}/?id={records[plural].pk}").json()

    assert listed["count"] == 0


@pytest.mark.parametrize("plural", PLURALS)
def test_another_workspaces_export_does_not_contain_the_first_workspaces_records(
    first, intruder, plural
):
    _, records = first

    response = intruder.get(f"/api/v1/{plural}/export/")

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert str(records[plural].pk) not in text
    assert len(text.strip().splitlines()) == 2  # header and its own record


@pytest.mark.parametrize("plural", PLURALS)
def test_import_with_another_workspaces_key_creates_records_only_there(first, intruder, plural):
    workspace, _ = first
    model = BY_PLURAL[plural].model
    before = model.objects.filter(workspace=workspace).count()

    response = call(intruder, "import", plural)

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert model.objects.filter(workspace=workspace).count() == before


@pytest.mark.parametrize(
    "plural, column",
    [
        ("people", "company"),
        ("opportunities", "company"),
        ("opportunities", "point_of_contact"),
        ("tasks", "person"),
        ("notes", "opportunity"),
    ],
)
def test_import_cannot_link_to_another_workspaces_records(first, intruder, plural, column):
    _, records = first
    target = {
        "company": "companies",
        "person": "people",
        "point_of_contact": "people",
        "opportunity": "opportunities",
    }[column]
    title = (
        "first_name" if plural == "people" else ("name" if plural == "opportunities" else "title")
    )
    csv_text = f"{title},{column}\nLinked,{records[target].pk}\n"

    response = intruder.post(f"/api/v1/{plural}/import/", csv_text, content_type="text/csv")

    body = response.json()
    assert body["created"] == 0
    assert body["errors"][0]["row"] == 2
    assert column in body["errors"][0]["errors"]


@pytest.mark.parametrize("plural", PLURALS)
def test_create_cannot_link_to_another_workspaces_company(first, intruder, plural):
    _, records = first
    if plural == "companies":
        pytest.skip("a company links to no record")
    body = {**VALID_BODIES[plural], "company": str(records["companies"].pk)}

    response = intruder.post(f"/api/v1/{plural}/", body, format="json")

    assert response.status_code == 400
    assert "company" in response.json()


@pytest.mark.parametrize("action", EVERY_CALL)
@pytest.mark.parametrize("plural", PLURALS)
def test_no_key_answers_401_on_every_endpoint(first, plural, action):
    _, records = first

    response = call(APIClient(), action, plural, records[plural])

    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.parametrize("action", EVERY_CALL)
@pytest.mark.parametrize("plural", PLURALS)
def test_a_revoked_key_answers_401_on_every_endpoint(first, plural, action):
    workspace, records = first
    key, raw = ApiKey.issue(workspace)
    ApiKey.objects.filter(pk=key.pk).update(revoked=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = call(client, action, plural, records[plural])

    assert response.status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer crm_not-a-real-key", "Token abc", "Bearer", "Basic eDp5"]
)
def test_a_wrong_authorization_header_answers_401(first, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get("/api/v1/people/").status_code == 401


@pytest.mark.parametrize("plural", PLURALS)
def test_a_member_of_another_workspace_logged_in_gets_404(first, plural):
    _, records = first
    other = make_workspace("third")
    client = APIClient()
    client.force_login(make_user("carol@example.com", workspace=other))

    assert client.get(f"/api/v1/{plural}/{records[plural].pk}/").status_code == 404
    assert client.get(f"/api/v1/{plural}/").json()["count"] == 0


def test_a_logged_in_user_without_a_workspace_is_refused(first):
    client = APIClient()
    client.force_login(make_user("nobody@example.com"))

    assert client.get("/api/v1/people/").status_code == 403
