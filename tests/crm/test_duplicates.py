"""Duplicate warnings (crm/duplicates.py): a person with another person's email or a company
with another company's domain is saved from a page only after "Save anyway"; the API does not
ask."""

import pytest
from django.utils import timezone

from crm.duplicates import find_duplicates, normalized_domain
from crm.models import Company, Person
from crm.objects import OBJECTS
from tests.conftest import make_workspace
from tests.crm.test_pages import HTMX, logged_in, make_company, make_person

pytestmark = pytest.mark.django_db


# --- The lookup ---------------------------------------------------------------------------


def test_a_person_with_the_same_email_in_any_case_is_a_duplicate(workspace):
    ada = make_person(workspace, email="ada@northwind.com")
    found = find_duplicates(OBJECTS["person"], workspace, {"email": " ADA@Northwind.com "})
    assert [duplicate.record for duplicate in found] == [ada]


def test_people_of_another_workspace_are_not_duplicates(workspace):
    make_person(make_workspace("other"), email="ada@northwind.com")
    assert find_duplicates(OBJECTS["person"], workspace, {"email": "ada@northwind.com"}) == []


def test_the_record_being_edited_is_not_its_own_duplicate(workspace):
    ada = make_person(workspace, email="ada@northwind.com")
    values = {"email": "ada@northwind.com"}
    assert find_duplicates(OBJECTS["person"], workspace, values, exclude=ada) == []


def test_an_empty_email_has_no_duplicates(workspace):
    make_person(workspace, email="")
    assert find_duplicates(OBJECTS["person"], workspace, {"email": ""}) == []


def test_an_archived_person_is_still_reported(workspace):
    ada = make_person(workspace, email="ada@northwind.com", archived_at=timezone.now())
    found = find_duplicates(OBJECTS["person"], workspace, {"email": "ada@northwind.com"})
    assert [duplicate.record for duplicate in found] == [ada]


@pytest.mark.parametrize(
    "stored",
    ["northwind.com", "www.northwind.com", "https://Northwind.com/about", "NORTHWIND.COM."],
)
def test_a_company_domain_matches_whatever_form_it_was_stored_in(workspace, stored):
    northwind = make_company(workspace, "Northwind", domain=stored)
    make_company(workspace, "Northwind Labs", domain="labs.northwind.com")
    found = find_duplicates(OBJECTS["company"], workspace, {"domain": "http://www.northwind.com"})
    assert [duplicate.record for duplicate in found] == [northwind]


def test_normalized_domain_keeps_only_the_host():
    assert normalized_domain(" https://www.Acme.com:443/about?x=1 ") == "acme.com"
    assert normalized_domain("sales@acme.com") == "acme.com"


# --- The pages ----------------------------------------------------------------------------


def test_a_new_person_with_a_known_email_shows_a_warning_linking_to_the_other(client, workspace):
    logged_in(client, workspace)
    ada = make_person(workspace, email="ada@northwind.com")
    response = client.post("/people/new/", {"first_name": "Ada", "email": "ada@northwind.com"})
    assert response.status_code == 200
    assert Person.objects.count() == 1
    html = response.content.decode()
    assert "Another person has this email." in html
    assert f'href="/people/{ada.pk}/"' in html
    assert 'name="save_anyway" value="1">Save anyway</button>' in html
    assert 'value="ada@northwind.com"' in html  # what was typed is kept


def test_save_anyway_creates_the_person(client, workspace):
    logged_in(client, workspace)
    make_person(workspace, email="ada@northwind.com")
    data = {"first_name": "Ada", "email": "ada@northwind.com", "save_anyway": "1"}
    response = client.post("/people/new/", data)
    assert response.status_code == 302
    assert Person.objects.filter(email="ada@northwind.com").count() == 2


def test_a_new_person_with_a_new_email_is_created_without_a_warning(client, workspace):
    logged_in(client, workspace)
    make_person(workspace, email="ada@northwind.com")
    response = client.post("/people/new/", {"first_name": "Bob", "email": "bob@northwind.com"})
    assert response.status_code == 302


def test_editing_a_company_to_another_companys_domain_warns_and_saves_nothing(client, workspace):
    logged_in(client, workspace)
    make_company(workspace, "Northwind", domain="northwind.com")
    acme = make_company(workspace, "Acme", domain="acme.com")
    data = {"name": "Acme", "domain": "www.northwind.com"}
    response = client.post(f"/companies/{acme.pk}/edit/", data)
    assert "Another company has this domain." in response.content.decode()
    acme.refresh_from_db()
    assert acme.domain == "acme.com"
    client.post(f"/companies/{acme.pk}/edit/", data | {"save_anyway": "1"})
    acme.refresh_from_db()
    assert acme.domain == "www.northwind.com"


def test_saving_a_company_unchanged_does_not_warn_about_itself(client, workspace):
    logged_in(client, workspace)
    acme = make_company(workspace, "Acme", domain="acme.com")
    response = client.post(
        f"/companies/{acme.pk}/edit/", {"name": "Acme Corp", "domain": "acme.com"}
    )
    assert response.status_code == 302


def test_inline_edit_of_an_email_warns_then_saves_anyway(client, workspace):
    logged_in(client, workspace)
    make_person(workspace, "Ada", email="ada@northwind.com")
    bob = make_person(workspace, "Bob", email="bob@northwind.com")
    url = f"/people/{bob.pk}/fields/email/"
    response = client.post(url, {"email": "ada@northwind.com"}, **HTMX)
    html = response.content.decode()
    assert "is-editing" in html and "Another person has this email." in html
    bob.refresh_from_db()
    assert bob.email == "bob@northwind.com"
    response = client.post(url, {"email": "ada@northwind.com", "save_anyway": "1"}, **HTMX)
    assert "is-editing" not in response.content.decode()
    bob.refresh_from_db()
    assert bob.email == "ada@northwind.com"


def test_the_api_creates_a_duplicate_without_asking(api, workspace):
    make_person(workspace, email="ada@northwind.com")
    make_company(workspace, "Northwind", domain="northwind.com")
    assert api.post("/api/v1/people/", {"email": "ada@northwind.com"}).status_code == 201
    company = {"name": "Northwind again", "domain": "northwind.com"}
    assert api.post("/api/v1/companies/", company).status_code == 201
    assert Person.objects.count() == 2 and Company.objects.count() == 2
