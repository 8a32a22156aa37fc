"""Bad input answers 400 with field-level messages, never a 500 and never a half-written
record (SPEC section 7)."""

import uuid

import pytest
from rest_framework.exceptions import ValidationError

from crm.models import Company, Opportunity, Person
from tests.conftest import make_workspace

from .api_factories import PLURALS, client_for, make_records


def nested(depth: int) -> list:
    """[[[...]]]: a JSON value `depth` lists deep."""
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def records(workspace):
    return make_records(workspace)


def assert_field_error(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    assert body[field] and all(isinstance(message, str) for message in body[field])


@pytest.mark.parametrize(
    "plural, body, field",
    [
        ("companies", {"name": "X", "employees": "many"}, "employees"),
        ("companies", {"name": "X", "employees": -1}, "employees"),
        ("companies", {"name": "X", "employees": 10**20}, "employees"),
        ("companies", {"name": "X", "annual_revenue": "NaN"}, "annual_revenue"),
        ("companies", {"name": "X", "annual_revenue": "1" * 30}, "annual_revenue"),
        ("companies", {"name": "X", "linkedin": "not a url"}, "linkedin"),
        ("companies", {"name": "X", "ideal_customer": "perhaps"}, "ideal_customer"),
        ("companies", {"name": "x" * 201}, "name"),
        ("companies", {"name": ""}, "name"),
        ("companies", {"city": "Lyon"}, "name"),
        ("companies", {"name": "X", "owner": "stranger@example.com"}, "owner"),
        ("companies", {"name": "X", "owner": True}, "owner"),
        ("people", {"first_name": "Ada", "email": "not-an-email"}, "email"),
        ("people", {"first_name": "Ada\x00"}, "first_name"),
        ("people", {"city": "Lyon"}, "first_name"),
        ("people", {"first_name": "Ada", "tags": [{"a": 1}]}, "tags"),
        ("people", {"first_name": "Ada", "tags": "x" * 51}, "tags"),
        ("people", {"first_name": "Ada", "custom": ["not", "an", "object"]}, "custom"),
        ("people", {"first_name": "Ada", "custom": {"note": "nul\x00"}}, "custom"),
        ("people", {"first_name": "Ada", "custom": {"deep": nested(300)}}, "custom"),
        ("people", {"first_name": "Ada", "nickname": "Countess"}, "nickname"),
        ("opportunities", {"name": "X", "stage": "maybe"}, "stage"),
        ("opportunities", {"name": "X", "close_date": "31/02/2024"}, "close_date"),
        ("opportunities", {"name": "X", "close_date": "2024-02-31"}, "close_date"),
        ("opportunities", {"name": "X", "currency": "EURO"}, "currency"),
        ("tasks", {"title": "X", "status": "later"}, "status"),
        ("tasks", {"title": "X", "due_at": "tomorrow"}, "due_at"),
        ("tasks", {"title": "X", "assignee": 999999}, "assignee"),
    ],
)
def test_an_invalid_field_value_answers_400_naming_the_field(api, workspace, plural, body, field):
    response = api.post(f"/api/v1/{plural}/", body, format="json")

    assert_field_error(response, field)


@pytest.mark.parametrize("relation", ["company", "person", "opportunity"])
def test_an_unknown_relation_id_answers_400(api, workspace, relation):
    response = api.post(
        "/api/v1/tasks/", {"title": "X", relation: str(uuid.uuid4())}, format="json"
    )

    assert_field_error(response, relation)
    assert "No " in response.json()[relation][0]


@pytest.mark.parametrize("value", ["abc", 12, {"id": "x"}, ["a"]])
def test_a_malformed_relation_id_answers_400(api, workspace, value):
    response = api.post("/api/v1/people/", {"first_name": "A", "company": value}, format="json")

    assert_field_error(response, "company")


def test_a_relation_id_of_another_workspace_answers_400(api, workspace):
    foreign = Company.objects.create(workspace=make_workspace("other"), name="Foreign")

    response = api.post(
        "/api/v1/people/", {"first_name": "A", "company": str(foreign.pk)}, format="json"
    )

    assert_field_error(response, "company")
    assert not Person.objects.filter(first_name="A").exists()


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"text"', "42", "null", "true"])
@pytest.mark.parametrize("method", ["post", "patch", "put"])
def test_a_json_body_that_is_not_an_object_answers_400(api, records, method, body):
    person = records["people"]
    url = "/api/v1/people/" if method == "post" else f"/api/v1/people/{person.pk}/"

    response = getattr(api, method)(url, body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert "detail" in response.json()


@pytest.mark.parametrize("method", ["post", "patch", "put"])
def test_malformed_json_answers_400(api, records, method):
    person = records["people"]
    url = "/api/v1/people/" if method == "post" else f"/api/v1/people/{person.pk}/"

    response = getattr(api, method)(url, '{"first_name": "Ada",', content_type="application/json")

    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_a_patch_with_one_bad_field_changes_nothing(api, records):
    opportunity = records["opportunities"]

    response = api.patch(
        f"/api/v1/opportunities/{opportunity.pk}/",
        {"name": "Renamed", "stage": "maybe"},
        format="json",
    )

    assert_field_error(response, "stage")
    opportunity.refresh_from_db()
    assert opportunity.name == "Rocket"


def test_a_put_without_a_required_field_answers_400_and_changes_nothing(api, records):
    company = records["companies"]

    response = api.put(f"/api/v1/companies/{company.pk}/", {"city": "Berlin"}, format="json")

    assert_field_error(response, "name")
    company.refresh_from_db()
    assert company.city == "Paris"


def test_a_create_that_fails_leaves_no_record(api, workspace):
    api.post("/api/v1/opportunities/", {"name": "Half", "stage": "nope"}, format="json")

    assert not Opportunity.objects.exists()


@pytest.mark.parametrize(
    "query, param",
    [
        ("company=not-a-uuid", "company"),
        ("id=12", "id"),
        ("stage=maybe", "stage"),
        ("employees=abc", "employees"),
        ("employees=99999999999999999999999", "employees"),
        ("annual_revenue=lots", "annual_revenue"),
        ("ideal_customer=perhaps", "ideal_customer"),
        ("close_date=2024-99-99", "close_date"),
        ("close_date=yesterday", "close_date"),
        ("created_at=yesterday", "created_at"),
        ("created_at=2024-13-01T00:00:00", "created_at"),
        ("owner=abc", "owner"),
        ("point_of_contact=x", "point_of_contact"),
        ("nickname=Ada", "nickname"),
        ("tags=vip", "tags"),
        ("ordering=nickname", "ordering"),
        ("status=later", "status"),
        ("due_at=soon", "due_at"),
    ],
)
def test_a_bad_filter_value_answers_400_naming_the_parameter(api, records, query, param):
    plural = {
        "stage": "opportunities",
        "close_date": "opportunities",
        "point_of_contact": "opportunities",
        "company": "people",
        "nickname": "people",
        "tags": "people",
        "status": "tasks",
        "due_at": "tasks",
    }.get(param, "companies")

    response = api.get(f"/api/v1/{plural}/?{query}")

    assert_field_error(response, param)


@pytest.mark.parametrize("plural", PLURALS)
def test_a_malformed_id_in_the_url_answers_404(api, records, plural):
    assert api.get(f"/api/v1/{plural}/not-a-uuid/").status_code == 404
    assert api.delete(f"/api/v1/{plural}/12/").status_code == 404


@pytest.mark.parametrize("plural", PLURALS)
def test_an_unknown_id_answers_404(api, records, plural):
    assert api.get(f"/api/v1/{plural}/{uuid.uuid4()}/").status_code == 404


def test_the_page_size_is_capped_at_500(api, workspace):
    Person.objects.bulk_create(
        [Person(workspace=workspace, first_name=f"P{i}") for i in range(510)]
    )

    body = api.get("/api/v1/people/?page_size=10000").json()

    assert len(body["results"]) == 500
    assert body["count"] == 510
    assert body["next"]


def test_errors_never_contain_a_stack_trace(api, records):
    response = api.get("/api/v1/companies/?employees=abc")

    assert "Traceback" not in response.content.decode()


def test_a_bad_patch_of_another_workspaces_record_answers_404_not_400(records, db):
    other = client_for(make_workspace("other"))
    person = records["people"]

    response = other.patch(f"/api/v1/people/{person.pk}/", {"email": "bad"}, format="json")

    assert response.status_code == 404  # not found comes before validation


def test_a_date_that_does_not_exist_as_a_filter_answers_400(api, workspace):
    response = api.get("/api/v1/tasks/?due_at=2024-02-30")

    assert_field_error(response, "due_at")


def test_a_form_encoded_body_answers_415_asking_for_json(api, workspace):
    response = api.post(
        "/api/v1/people/", "first_name=Ada", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["detail"].startswith("Unsupported media type")


def test_a_multipart_import_with_too_many_fields_answers_400(api, workspace):
    fields = {f"f{i}": "1" for i in range(1200)}

    response = api.post("/api/v1/people/import/", fields, format="multipart")

    assert response.status_code == 400
    assert "detail" in response.json()


def test_a_json_body_over_the_upload_limit_answers_413(api, workspace, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api.post("/api/v1/people/", {"first_name": "x" * 2000}, format="json")

    assert response.status_code == 413


@pytest.mark.parametrize("tags", [["a, b"], "a, b", ["a", " b "]])
def test_tags_given_as_text_are_split_on_commas(api, workspace, tags):
    body = api.post("/api/v1/people/", {"first_name": "A", "tags": tags}, format="json").json()

    assert body["tags"] == ["a", "b"]


def test_validation_of_one_workspace_never_leaks_into_the_next_call(workspace):
    from crm import records
    from crm.objects import OBJECTS

    other = make_workspace("other")
    company = Company.objects.create(workspace=workspace, name="Mine")
    person = OBJECTS["person"]
    records.create_record(person, workspace, {"first_name": "A", "company": str(company.pk)})

    with pytest.raises(ValidationError) as refused:
        records.create_record(person, other, {"first_name": "B", "company": str(company.pk)})

    assert "company" in refused.value.detail
