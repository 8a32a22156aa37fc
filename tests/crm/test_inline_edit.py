"""Inline editing of one field on a record page (crm/views.py record_field)."""

import pytest

from crm.models import Person, Role
from tests.conftest import make_user, make_workspace
from tests.crm.test_pages import HTMX, logged_in, make_company, make_person

pytestmark = pytest.mark.django_db


def field_url(person, name):
    return f"/people/{person.pk}/fields/{name}/"


def test_asking_to_edit_a_field_answers_its_input_with_the_current_value(client):
    workspace = make_workspace()
    logged_in(client, workspace)
    person = make_person(workspace, email="ada@example.com")
    response = client.get(field_url(person, "email") + "?edit=1", **HTMX)
    assert response.status_code == 200
    assert b'name="email"' in response.content
    assert b'value="ada@example.com"' in response.content


def test_a_bad_value_is_answered_with_the_serialisers_error_and_nothing_is_saved(client):
    workspace = make_workspace()
    logged_in(client, workspace)
    person = make_person(workspace, email="ada@example.com")
    response = client.post(field_url(person, "email"), {"email": "not-an-email"}, **HTMX)
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert b"is-editing" in response.content
    person.refresh_from_db()
    assert person.email == "ada@example.com"


def test_a_good_value_is_saved_and_the_field_is_shown_again(client):
    workspace = make_workspace()
    logged_in(client, workspace)
    person = make_person(workspace)
    response = client.post(field_url(person, "job_title"), {"job_title": "CTO"}, **HTMX)
    assert b"is-editing" not in response.content
    assert b"CTO" in response.content
    person.refresh_from_db()
    assert person.job_title == "CTO"


def test_a_relation_must_stay_inside_the_workspace(client):
    workspace, other = make_workspace(), make_workspace("other")
    logged_in(client, workspace)
    person = make_person(workspace)
    foreign = make_company(other, name="Elsewhere")
    response = client.post(field_url(person, "company"), {"company": str(foreign.pk)}, **HTMX)
    assert b"field-error" in response.content
    person.refresh_from_db()
    assert person.company is None


def test_another_workspaces_record_and_unknown_fields_are_not_found(client):
    workspace, other = make_workspace(), make_workspace("other")
    logged_in(client, workspace)
    stranger = make_person(other)
    assert client.get(field_url(stranger, "email") + "?edit=1").status_code == 404
    mine = make_person(workspace)
    assert client.get(field_url(mine, "created_at") + "?edit=1").status_code == 404
    assert client.post(field_url(mine, "workspace"), {"workspace": "x"}).status_code == 404


def test_a_member_can_edit_records_inline(client):
    workspace = make_workspace()
    make_user("boss@example.com", workspace=workspace)
    logged_in(client, workspace, "member@example.com", role=Role.MEMBER)
    person = make_person(workspace)
    client.post(field_url(person, "city"), {"city": "Lyon"}, **HTMX)
    assert Person.objects.get().city == "Lyon"
