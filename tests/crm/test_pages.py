"""The record pages (SPEC section 8): list, detail, create, edit, delete, inline notes and
tasks, the dashboard, and workspace isolation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Company, Note, Opportunity, Person, Role, Task
from tests.conftest import make_user, make_workspace

pytestmark = pytest.mark.django_db

PLURALS = ["companies", "people", "opportunities", "tasks", "notes"]
HTMX = {"HTTP_HX_REQUEST": "true"}


# --- Helpers ------------------------------------------------------------------------------


def logged_in(client, workspace, email="owner@example.com", role=Role.OWNER):
    user = make_user(email, workspace=workspace, role=role)
    client.force_login(user)
    return user


def make_company(workspace, name="Northwind", **fields):
    return Company.objects.create(workspace=workspace, name=name, **fields)


def make_person(workspace, first_name="Ada", last_name="Lovelace", **fields):
    return Person.objects.create(
        workspace=workspace, first_name=first_name, last_name=last_name, **fields
    )


def make_opportunity(workspace, name="Big deal", **fields):
    return Opportunity.objects.create(workspace=workspace, name=name, **fields)


def make_one_of_each(workspace) -> dict:
    """A company with a person, an opportunity, a task and a note all linked together."""
    company = make_company(workspace, domain="northwind.com", employees=120, city="Lyon")
    person = make_person(workspace, email="ada@northwind.com", company=company)
    opportunity = make_opportunity(
        workspace, amount=12000, stage="proposal", company=company, point_of_contact=person
    )
    task = Task.objects.create(
        workspace=workspace,
        title="Call Ada",
        company=company,
        person=person,
        due_at=timezone.now() + timedelta(days=1),
    )
    note = Note.objects.create(
        workspace=workspace,
        title="Kick-off",
        body="Went well.",
        company=company,
        opportunity=opportunity,
    )
    return {
        "companies": company,
        "people": person,
        "opportunities": opportunity,
        "tasks": task,
        "notes": note,
    }


def row_names(response) -> list[str]:
    """The record names linked from the first column of a list page, in order."""
    return [str(record) for record in response.context["page"].object_list]


# --- Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/companies/", "/people/new/", "/tasks/"])
def test_anonymous_visitor_is_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


def test_login_page_takes_an_email_and_a_password(client, workspace):
    make_user("ada@example.com", workspace=workspace, password="secret-pw")
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content
    response = client.post(
        "/accounts/login/", {"username": "ada@example.com", "password": "secret-pw"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_wrong_password_shows_an_error_on_the_login_page(client, workspace):
    make_user("ada@example.com", workspace=workspace, password="secret-pw")
    response = client.post("/accounts/login/", {"username": "ada@example.com", "password": "x"})
    assert response.status_code == 200
    assert b"don't match" in response.content


def test_a_user_without_a_workspace_is_told_so(client, db):
    client.force_login(make_user("loner@example.com"))
    response = client.get("/companies/")
    assert response.status_code == 403
    assert b"not in a workspace" in response.content


# --- Every page renders -------------------------------------------------------------------


@pytest.mark.parametrize("plural", PLURALS)
def test_list_page_shows_the_workspace_records(client, workspace, plural):
    logged_in(client, workspace)
    record = make_one_of_each(workspace)[plural]
    response = client.get(f"/{plural}/")
    assert response.status_code == 200
    assert str(record) in response.content.decode()
    assert f'value="{record.pk}"' in response.content.decode()  # its bulk-select checkbox


@pytest.mark.parametrize("plural", PLURALS)
def test_detail_page_shows_the_record(client, workspace, plural):
    logged_in(client, workspace)
    record = make_one_of_each(workspace)[plural]
    response = client.get(f"/{plural}/{record.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert str(record) in html
    assert 'id="record-runs"' in html and "Workflow runs" in html


@pytest.mark.parametrize("plural", PLURALS)
def test_new_page_shows_an_empty_form(client, workspace, plural):
    logged_in(client, workspace)
    response = client.get(f"/{plural}/new/")
    assert response.status_code == 200
    assert b"<form" in response.content and b"csrfmiddlewaretoken" in response.content


@pytest.mark.parametrize("plural", PLURALS)
def test_edit_page_shows_the_form_filled_in(client, workspace, plural):
    logged_in(client, workspace)
    record = make_one_of_each(workspace)[plural]
    response = client.get(f"/{plural}/{record.pk}/edit/")
    assert response.status_code == 200
    first_field = response.context["form"].fields[0]
    assert first_field.value == getattr(record, first_field.name)


def test_every_page_has_the_navigation_bar(client, workspace):
    logged_in(client, workspace)
    html = client.get("/companies/").content.decode()
    for label, href in [
        ("Companies", "/companies/"),
        ("People", "/people/"),
        ("Opportunities", "/opportunities/"),
        ("Tasks", "/tasks/"),
        ("Notes", "/notes/"),
        ("Workflows", "/workflows/"),
        ("Runs", "/runs/"),
        ("Forms", "/forms/"),
    ]:
        assert f'href="{href}"' in html and label in html
    assert 'action="/accounts/logout/"' in html
    assert "X-CSRFToken" in html  # every HTMX request carries the CSRF token


def test_home_shows_counts_pipeline_and_tasks_due_soon(client, workspace):
    logged_in(client, workspace)
    make_one_of_each(workspace)
    response = client.get("/")
    assert response.status_code == 200
    pipeline = {row["stage"]: row["count"] for row in response.context["pipeline"]}
    assert pipeline["proposal"] == 1 and pipeline["won"] == 0
    assert [task.title for task in response.context["tasks_due"]] == ["Call Ada"]


def test_an_empty_list_invites_to_create_the_first_record(client, workspace):
    logged_in(client, workspace)
    response = client.get("/companies/")
    assert b"No companies yet" in response.content
    assert b"Create your first company" in response.content


# --- Search, sort, filters, pages -----------------------------------------------------------


def test_search_finds_companies_by_name_or_city(client, workspace):
    logged_in(client, workspace)
    make_company(workspace, "Northwind", city="Lyon")
    make_company(workspace, "Bluebird", city="Paris")
    assert row_names(client.get("/companies/?q=north")) == ["Northwind"]
    assert row_names(client.get("/companies/?q=paris")) == ["Bluebird"]


def test_search_matches_every_word_of_a_full_name(client, workspace):
    logged_in(client, workspace)
    make_person(workspace, "Ada", "Lovelace")
    make_person(workspace, "Ada", "Byron")
    assert row_names(client.get("/people/?q=ada+lovelace")) == ["Ada Lovelace"]


def test_live_search_answers_only_the_table(client, workspace):
    logged_in(client, workspace)
    make_company(workspace, "Northwind")
    response = client.get("/companies/?q=north", **HTMX, HTTP_HX_TARGET="list-results")
    html = response.content.decode()
    assert 'id="list-results"' in html and "Northwind" in html
    assert "<nav" not in html.split('id="list-results"')[0]  # no page shell around it


def test_clicking_a_column_header_sorts_by_it_and_again_reverses(client, workspace):
    logged_in(client, workspace)
    for name, employees in [("Small", 5), ("Large", 500), ("Medium", 50)]:
        make_company(workspace, name, employees=employees)
    assert row_names(client.get("/companies/?sort=employees")) == ["Small", "Medium", "Large"]
    assert row_names(client.get("/companies/?sort=-employees")) == ["Large", "Medium", "Small"]
    html = client.get("/companies/?sort=employees").content.decode()
    assert 'href="?sort=-employees"' in html


def test_sorting_by_a_relation_uses_the_related_name(client, workspace):
    logged_in(client, workspace)
    zeta, alpha = make_company(workspace, "Zeta"), make_company(workspace, "Alpha")
    make_opportunity(workspace, "Deal with Zeta", company=zeta)
    make_opportunity(workspace, "Deal with Alpha", company=alpha)
    response = client.get("/opportunities/?sort=company")
    assert row_names(response) == ["Deal with Alpha", "Deal with Zeta"]


def test_an_unknown_sort_column_is_ignored(client, workspace):
    logged_in(client, workspace)
    make_company(workspace)
    assert client.get("/companies/?sort=password").status_code == 200


def test_filtering_opportunities_by_stage(client, workspace):
    logged_in(client, workspace)
    make_opportunity(workspace, "Won deal", stage="won")
    make_opportunity(workspace, "New deal", stage="new")
    assert row_names(client.get("/opportunities/?stage=won")) == ["Won deal"]


def test_filtering_tasks_by_status_and_by_overdue(client, workspace):
    logged_in(client, workspace)
    now = timezone.now()
    Task.objects.create(workspace=workspace, title="Late", due_at=now - timedelta(days=2))
    Task.objects.create(
        workspace=workspace, title="Done late", status="done", due_at=now - timedelta(days=2)
    )
    Task.objects.create(workspace=workspace, title="Later", due_at=now + timedelta(days=20))
    assert row_names(client.get("/tasks/?status=done")) == ["Done late"]
    assert row_names(client.get("/tasks/?due=overdue")) == ["Late"]


def test_filtering_companies_by_industry_offers_the_workspace_values(client, workspace):
    logged_in(client, workspace)
    make_company(workspace, "Softco", industry="Software")
    make_company(workspace, "Shipco", industry="Logistics")
    make_company(make_workspace("other"), "Elsewhere", industry="Mining")
    response = client.get("/companies/?industry=Software")
    assert row_names(response) == ["Softco"]
    choices = dict(response.context["query"].fields["industry"].choices)
    assert "Logistics" in choices and "Mining" not in choices


def test_long_lists_are_paginated(client, workspace):
    logged_in(client, workspace)
    Company.objects.bulk_create(
        [Company(workspace=workspace, name=f"Company {n:02}") for n in range(30)]
    )
    first = client.get("/companies/?sort=name")
    second = client.get("/companies/?sort=name&page=2")
    assert len(row_names(first)) == 25 and row_names(second)[0] == "Company 25"
    assert b"1\xe2\x80\x9325 of 30" in first.content  # "1–25 of 30"


# --- Create and edit ------------------------------------------------------------------------


def test_creating_a_company_opens_its_page_with_a_message(client, workspace):
    user = logged_in(client, workspace)
    response = client.post(
        "/companies/new/",
        {"name": "Acorn", "employees": "40", "tags": "saas, priority", "owner": user.pk},
    )
    company = Company.objects.get(name="Acorn")
    assert response.status_code == 302 and response["Location"] == f"/companies/{company.pk}/"
    assert (company.employees, company.tags, company.owner, company.created_by) == (
        40,
        ["saas", "priority"],
        user,
        user,
    )
    page = client.get(response["Location"])
    assert "Company “Acorn” created." in page.content.decode()


def test_a_person_with_an_invalid_email_is_not_created_and_the_error_shows(client, workspace):
    logged_in(client, workspace)
    response = client.post("/people/new/", {"first_name": "Ada", "email": "not-an-email"})
    assert response.status_code == 200
    assert Person.objects.count() == 0
    assert response.context["form"].errors["email"] == ["Enter a valid email address."]
    html = response.content.decode()
    assert 'class="field-error">Enter a valid email address.' in html
    assert 'value="Ada"' in html  # what was typed is kept


def test_an_unknown_stage_is_refused_with_an_inline_error(client, workspace):
    logged_in(client, workspace)
    response = client.post("/opportunities/new/", {"name": "Deal", "stage": "bogus"})
    assert Opportunity.objects.count() == 0
    assert "stage" in response.context["form"].errors
    assert b"is not a valid choice" in response.content


def test_a_missing_required_name_is_refused(client, workspace):
    logged_in(client, workspace)
    response = client.post("/companies/new/", {"name": ""})
    assert Company.objects.count() == 0
    assert response.context["form"].errors["name"]


def test_relation_selects_offer_only_the_workspace_records(client, workspace):
    logged_in(client, workspace)
    make_company(workspace, "Ours")
    make_company(make_workspace("other"), "Theirs")
    field = next(
        f for f in client.get("/people/new/").context["form"].fields if f.name == "company"
    )
    assert [label for _, label in field.choices] == ["Ours"]


def test_another_workspaces_company_cannot_be_linked(client, workspace):
    logged_in(client, workspace)
    theirs = make_company(make_workspace("other"), "Theirs")
    response = client.post("/people/new/", {"first_name": "Ada", "company": str(theirs.pk)})
    assert Person.objects.count() == 0
    assert "company" in response.context["form"].errors


def test_a_new_task_is_assigned_to_its_creator_until_changed(client, workspace):
    user = logged_in(client, workspace)
    form = client.get("/tasks/new/").context["form"]
    assert next(f for f in form.fields if f.name == "assignee").value == str(user.pk)


def test_the_new_form_starts_with_the_company_from_the_link(client, workspace):
    logged_in(client, workspace)
    company = make_company(workspace)
    form = client.get(f"/people/new/?company={company.pk}").context["form"]
    assert next(f for f in form.fields if f.name == "company").value == str(company.pk)


def test_editing_a_company_saves_the_changes(client, workspace):
    logged_in(client, workspace)
    company = make_company(workspace, "Old name", employees=10, ideal_customer=True)
    response = client.post(
        f"/companies/{company.pk}/edit/", {"name": "New name", "employees": "", "city": "Lyon"}
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.name, company.employees, company.city) == ("New name", None, "Lyon")
    assert company.ideal_customer is False  # an unticked checkbox is not sent by browsers


def test_editing_with_bad_input_keeps_the_record_unchanged(client, workspace):
    logged_in(client, workspace)
    person = make_person(workspace, email="ada@example.com")
    response = client.post(f"/people/{person.pk}/edit/", {"first_name": "Ada", "email": "nope"})
    assert response.status_code == 200 and "email" in response.context["form"].errors
    person.refresh_from_db()
    assert person.email == "ada@example.com"


# --- Delete ---------------------------------------------------------------------------------


def test_deleting_asks_first_then_deletes_with_its_tasks_and_notes(client, workspace):
    logged_in(client, workspace)
    company = make_one_of_each(workspace)["companies"]
    confirm = client.get(f"/companies/{company.pk}/delete/")
    assert confirm.status_code == 200
    assert confirm.context["cascade"] == {"tasks": 1, "notes": 1}
    assert Company.objects.filter(pk=company.pk).exists()
    response = client.post(f"/companies/{company.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/companies/"
    assert not Company.objects.filter(pk=company.pk).exists()
    assert not Task.objects.exists()


def test_bulk_delete_confirms_then_deletes_only_the_ticked_records(client, workspace):
    logged_in(client, workspace)
    keep, drop1, drop2 = (make_company(workspace, name) for name in ("Keep", "Drop1", "Drop2"))
    ids = [str(drop1.pk), str(drop2.pk)]
    confirm = client.post("/companies/bulk-delete/", {"record_ids": ids})
    assert confirm.status_code == 200 and b"Delete 2 companies?" in confirm.content
    assert Company.objects.count() == 3
    response = client.post("/companies/bulk-delete/", {"record_ids": ids, "confirmed": "yes"})
    assert response.status_code == 302
    assert list(Company.objects.values_list("name", flat=True)) == ["Keep"]


def test_bulk_delete_ignores_ids_from_another_workspace(client, workspace):
    logged_in(client, workspace)
    theirs = make_company(make_workspace("other"), "Theirs")
    client.post("/companies/bulk-delete/", {"record_ids": [str(theirs.pk)], "confirmed": "yes"})
    assert Company.objects.filter(pk=theirs.pk).exists()


def test_the_list_page_wraps_the_table_in_the_bulk_actions_form(client, workspace):
    logged_in(client, workspace)
    make_company(workspace)
    html = client.get("/companies/").content.decode()
    form = html.split('<form id="bulk-actions"')[1].split("</form>")[0]
    assert 'name="record_ids"' in form and "data-select-all" in form


# --- Workspace isolation ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "edit/", "delete/"])
def test_another_workspaces_record_answers_404(client, workspace, suffix):
    logged_in(client, workspace)
    theirs = make_company(make_workspace("other"), "Theirs")
    assert client.get(f"/companies/{theirs.pk}/{suffix}").status_code == 404


def test_another_workspaces_record_cannot_be_edited_or_deleted_by_post(client, workspace):
    logged_in(client, workspace)
    theirs = make_company(make_workspace("other"), "Theirs")
    assert client.post(f"/companies/{theirs.pk}/edit/", {"name": "Mine"}).status_code == 404
    assert client.post(f"/companies/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/companies/{theirs.pk}/notes/", {"title": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_the_list_never_shows_another_workspaces_records(client, workspace):
    logged_in(client, workspace)
    make_company(workspace, "Ours")
    make_company(make_workspace("other"), "Theirs")
    assert row_names(client.get("/companies/")) == ["Ours"]


# --- Detail page: related records, inline notes and tasks -----------------------------------


def test_a_company_page_lists_its_people_and_opportunities(client, workspace):
    logged_in(client, workspace)
    records = make_one_of_each(workspace)
    response = client.get(f"/companies/{records['companies'].pk}/")
    sections = {s["obj"].name: list(s["rows"]) for s in response.context["related_lists"]}
    assert sections == {
        "person": [records["people"]],
        "opportunity": [records["opportunities"]],
        "meeting": [],
    }
    assert [t.title for t in response.context["tasks"]] == ["Call Ada"]
    assert [n.title for n in response.context["notes"]] == ["Kick-off"]


def test_an_opportunity_page_links_its_company_and_contact(client, workspace):
    logged_in(client, workspace)
    records = make_one_of_each(workspace)
    response = client.get(f"/opportunities/{records['opportunities'].pk}/")
    assert f'href="/companies/{records["companies"].pk}/"' in response.content.decode()
    assert f'href="/people/{records["people"].pk}/"' in response.content.decode()


def test_adding_a_note_with_htmx_answers_the_notes_fragment(client, workspace):
    user = logged_in(client, workspace)
    company = make_company(workspace)
    response = client.post(
        f"/companies/{company.pk}/notes/", {"title": "Called them", "body": "All good."}, **HTMX
    )
    assert response.status_code == 200
    note = Note.objects.get()
    assert (note.company, note.created_by, note.body) == (company, user, "All good.")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="notes-section">') or 'id="notes-section"' in html
    assert "Called them" in html and "Note added." in html  # the toast, out of band
    assert "<aside" not in html


def test_adding_a_note_without_a_title_shows_the_error_in_the_fragment(client, workspace):
    logged_in(client, workspace)
    company = make_company(workspace)
    response = client.post(f"/companies/{company.pk}/notes/", {"body": "No title"}, **HTMX)
    assert Note.objects.count() == 0
    assert b"field-error" in response.content and b"No title" in response.content


def test_adding_a_task_links_it_to_the_person(client, workspace):
    user = logged_in(client, workspace)
    person = make_person(workspace)
    client.post(
        f"/people/{person.pk}/tasks/",
        {"title": "Send deck", "due_at": "2030-01-02T09:30", "assignee": str(user.pk)},
        **HTMX,
    )
    task = Task.objects.get()
    assert (task.person, task.assignee, task.due_at.year) == (person, user, 2030)


def test_adding_a_note_without_javascript_returns_to_the_record(client, workspace):
    logged_in(client, workspace)
    company = make_company(workspace)
    response = client.post(f"/companies/{company.pk}/notes/", {"title": "Plain post"})
    assert response.status_code == 302 and response["Location"] == f"/companies/{company.pk}/"


def test_ticking_a_task_marks_it_done_and_again_reopens_it(client, workspace):
    logged_in(client, workspace)
    task = Task.objects.create(workspace=workspace, title="Call")
    response = client.post(f"/tasks/{task.pk}/toggle/", **HTMX)
    task.refresh_from_db()
    assert task.status == "done" and b"is-done" in response.content
    client.post(f"/tasks/{task.pk}/toggle/", **HTMX)
    task.refresh_from_db()
    assert task.status == "todo"
