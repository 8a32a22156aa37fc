"""Bulk work on the list pages (issue 17): "Export CSV" of the list as filtered, "Select all N
matching" for every bulk action, and the bulk edit of owner and tags."""

import csv
import io

import pytest

from crm.models import Activity, Company, Person, Role
from tests.conftest import make_user, make_workspace
from tests.workflows.helpers import graph, published, step
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list-results"}
PASS = step("noted", "filter", {"when": {"all": []}})


def logged_in(client, workspace, email="ada@example.com", role=Role.MEMBER):
    user = make_user(email, workspace=workspace, role=role)
    client.force_login(user)
    return user


def companies(workspace, prefix: str, count: int, **fields) -> list[Company]:
    return [
        Company.objects.create(workspace=workspace, name=f"{prefix} {i:02}", **fields)
        for i in range(count)
    ]


def exported_names(response) -> list[str]:
    text = b"".join(response.streaming_content).decode()
    return [row["name"] for row in csv.DictReader(io.StringIO(text))]


def all_matching(list_query: str, **fields) -> dict:
    """What the bulk form posts once "Select all N matching" is chosen."""
    return {"select_all": "matching", "list_query": list_query, **fields}


# --- Export CSV --------------------------------------------------------------------------------


def test_export_keeps_the_lists_search_filter_and_sort(client, workspace):
    logged_in(client, workspace)
    Company.objects.create(workspace=workspace, name="North B", industry="Software")
    Company.objects.create(workspace=workspace, name="North A", industry="Software")
    Company.objects.create(workspace=workspace, name="North C", industry="Retail")
    Company.objects.create(workspace=workspace, name="South", industry="Software")
    response = client.get("/companies/export/?q=north&industry=Software&sort=name")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert exported_names(response) == ["North A", "North B"]


def test_export_of_the_archived_view_has_the_archived_records_only(client, workspace):
    logged_in(client, workspace)
    Company.objects.create(workspace=workspace, name="Live")
    Company.objects.create(workspace=workspace, name="Gone", archived_at="2026-01-01T00:00Z")
    assert exported_names(client.get("/companies/export/?archived=1")) == ["Gone"]
    assert exported_names(client.get("/companies/export/")) == ["Live"]


def test_export_never_includes_another_workspaces_records(client, workspace):
    logged_in(client, workspace)
    Company.objects.create(workspace=workspace, name="Ours")
    Company.objects.create(workspace=make_workspace("globex"), name="Theirs")
    assert exported_names(client.get("/companies/export/")) == ["Ours"]


def test_the_export_link_carries_the_lists_query_also_after_a_live_search(client, workspace):
    logged_in(client, workspace)
    Company.objects.create(workspace=workspace, name="North", industry="Software")
    page = client.get("/companies/?q=north&industry=Software&page=1").content.decode()
    assert 'href="/companies/export/?q=north&amp;industry=Software"' in page
    fragment = client.get("/companies/?q=nor", **HTMX).content.decode()
    assert 'id="export-csv-link" href="/companies/export/?q=nor" hx-swap-oob="true"' in fragment


# --- Select all N matching ---------------------------------------------------------------------


def test_select_all_matching_is_offered_when_more_records_match_than_one_page_shows(
    client, workspace
):
    logged_in(client, workspace)
    companies(workspace, "North", 30)
    page = client.get("/companies/?q=north").content.decode()
    assert "Select all 30 matching" in page
    assert 'name="list_query" value="?q=north"' in page
    small = client.get("/companies/?q=north+00").content.decode()
    assert "matching</button>" not in small  # one page holds them all


def test_archive_of_all_matching_archives_the_filtered_set_beyond_the_page_only(client, workspace):
    logged_in(client, workspace)
    north = companies(workspace, "North", 30)
    south = companies(workspace, "South", 3)
    theirs = companies(make_workspace("globex"), "North", 2)
    # The posted ids of other records are ignored: the list's query decides.
    data = all_matching("?q=north", record_ids=[str(south[0].pk)])
    response = client.post("/companies/bulk-archive/", data)
    assert response.status_code == 302
    archived = set(Company.objects.filter(archived_at__isnull=False).values_list("pk", flat=True))
    assert archived == {company.pk for company in north}
    assert not {c.pk for c in south + theirs} & archived


def test_delete_of_all_matching_asks_then_deletes_the_filtered_set_only(client, workspace):
    logged_in(client, workspace)
    companies(workspace, "North", 27, industry="Software")
    companies(workspace, "North", 2, industry="Retail")
    query = "?q=north&industry=Software"
    confirm = client.post("/companies/bulk-delete/", all_matching(query))
    html = confirm.content.decode()
    assert "Delete 27 companies?" in html
    assert 'name="select_all" value="matching"' in html and "record_ids" not in html
    client.post("/companies/bulk-delete/", all_matching(query.lstrip("?"), confirmed="yes"))
    assert sorted(Company.objects.values_list("industry", flat=True)) == ["Retail", "Retail"]


def test_restore_of_all_matching_restores_only_what_the_archived_view_matches(client, workspace):
    logged_in(client, workspace)
    north = companies(workspace, "North", 3, archived_at="2026-01-01T00:00Z")
    companies(workspace, "South", 2, archived_at="2026-01-01T00:00Z")
    client.post("/companies/bulk-restore/", all_matching("?archived=1&q=north"))
    live = set(Company.objects.filter(archived_at__isnull=True).values_list("pk", flat=True))
    assert live == {company.pk for company in north}


def test_an_action_for_live_records_leaves_an_archived_lists_records_alone(client, workspace):
    logged_in(client, workspace)
    companies(workspace, "North", 2, archived_at="2026-01-01T00:00Z")
    client.post("/companies/bulk-edit/", all_matching("?archived=1&q=north", add_tags="vip"))
    assert not Company.objects.filter(tags=["vip"]).exists()


def test_run_workflow_on_all_matching_starts_a_run_per_matching_record(client, workspace):
    logged_in(client, workspace)
    trigger = {"type": "manual", "settings": {"object": "company"}}
    workflow = published(workspace, graph(PASS, trigger=trigger), name="Qualify")
    north = companies(workspace, "North", 28)
    companies(workspace, "South", 2)
    response = client.post(f"/workflows/{workflow.pk}/run/", all_matching("?q=north"))
    assert response.status_code == 302
    runs = WorkflowRun.objects.filter(workflow=workflow)
    started = {run.trigger_payload["record"]["id"] for run in runs}
    assert started == {str(company.pk) for company in north}


# --- Bulk edit of owner and tags ---------------------------------------------------------------


def test_the_bulk_bar_offers_edit_with_the_workspaces_members_as_owners(client, workspace):
    logged_in(client, workspace)
    make_user("grace@example.com", workspace=workspace)
    make_user("eve@globex.com", workspace=make_workspace("globex"))
    Company.objects.create(workspace=workspace, name="Acme")
    page = client.get("/companies/").content.decode()
    assert 'data-dialog-open="bulk-edit-dialog"' in page
    assert "grace@example.com" in page and "eve@globex.com" not in page
    assert 'name="add_tags"' in page and 'name="remove_tags"' in page


def test_bulk_edit_sets_the_owner_of_the_ticked_records(client, workspace):
    user = logged_in(client, workspace)
    grace = make_user("grace@example.com", workspace=workspace)
    acme, globex, other = companies(workspace, "Co", 3, owner=user)
    data = {"record_ids": [acme.pk, globex.pk], "owner": str(grace.pk), "add_tags": ""}
    response = client.post("/companies/bulk-edit/", data)
    assert response.status_code == 302
    owners = dict(Company.objects.values_list("name", "owner"))
    assert owners == {"Co 00": grace.pk, "Co 01": grace.pk, "Co 02": user.pk}


def test_bulk_edit_adds_and_removes_tags_keeping_the_others(client, workspace):
    logged_in(client, workspace)
    acme = Company.objects.create(workspace=workspace, name="Acme", tags=["lead", "eu"])
    data = {"record_ids": [acme.pk], "owner": "keep", "add_tags": "vip, eu, partner"}
    client.post("/companies/bulk-edit/", {**data, "remove_tags": "lead"})
    acme.refresh_from_db()
    assert acme.tags == ["eu", "vip", "partner"]


def test_bulk_edit_goes_through_the_record_service_timeline_and_triggers(client, workspace):
    logged_in(client, workspace)
    trigger = {"type": "record_updated", "settings": {"object": "person"}}
    workflow = published(workspace, graph(PASS, trigger=trigger), name="On update")
    ada = Person.objects.create(workspace=workspace, first_name="Ada")
    client.post("/people/bulk-edit/", {"record_ids": [ada.pk], "add_tags": "vip"})
    [entry] = Activity.objects.filter(record_id=ada.pk, kind="updated")
    assert entry.changes == {"tags": [[], ["vip"]]}
    assert entry.actor == "ada@example.com"
    [run] = WorkflowRun.objects.filter(workflow=workflow)
    assert run.trigger_payload["record"]["tags"] == ["vip"]


def test_bulk_edit_of_all_matching_edits_the_filtered_set_only(client, workspace):
    user = logged_in(client, workspace)
    north = companies(workspace, "North", 27)
    companies(workspace, "South", 2)
    client.post(
        "/companies/bulk-edit/", all_matching("?q=north", owner=str(user.pk), add_tags="vip")
    )
    edited = set(Company.objects.filter(owner=user).values_list("pk", flat=True))
    assert edited == {company.pk for company in north}
    assert Company.objects.filter(tags=["vip"]).count() == 27


def test_bulk_edit_refuses_an_owner_from_another_workspace_and_says_so(client, workspace):
    logged_in(client, workspace)
    eve = make_user("eve@globex.com", workspace=make_workspace("globex"))
    acme = Company.objects.create(workspace=workspace, name="Acme")
    response = client.post(
        "/companies/bulk-edit/", {"record_ids": [acme.pk], "owner": str(eve.pk)}, follow=True
    )
    assert "1 not updated: Acme: owner: No member" in response.content.decode()
    acme.refresh_from_db()
    assert acme.owner is None


def test_bulk_edit_with_a_malformed_owner_answers_with_a_message_not_an_error(client, workspace):
    logged_in(client, workspace)
    acme = Company.objects.create(workspace=workspace, name="Acme")
    response = client.post(
        "/companies/bulk-edit/", {"record_ids": [acme.pk], "owner": "DROP"}, follow=True
    )
    assert response.status_code == 200
    assert (
        "Nothing was changed: owner: Choose a member of this workspace."
        in response.content.decode()
    )


@pytest.mark.parametrize("owner", ["9" * 5000, "99999999999999999999", "٣"])
def test_bulk_edit_with_an_owner_id_no_member_can_have_changes_nothing(client, workspace, owner):
    logged_in(client, workspace)
    acme = Company.objects.create(workspace=workspace, name="Acme")
    response = client.post(
        "/companies/bulk-edit/", {"record_ids": [acme.pk], "owner": owner}, follow=True
    )
    assert response.status_code == 200
    assert "Choose a member of this workspace." in response.content.decode()
    acme.refresh_from_db()
    assert acme.owner is None


def test_bulk_edit_returns_to_the_list_as_it_was(client, workspace):
    logged_in(client, workspace)
    acme = Company.objects.create(workspace=workspace, name="Acme")
    data = {"record_ids": [acme.pk], "add_tags": "vip", "list_query": "?q=ac&sort=name"}
    response = client.post("/companies/bulk-edit/", data)
    assert response["Location"] == "/companies/?q=ac&sort=name"


def test_bulk_edit_never_touches_another_workspaces_records(client, workspace):
    logged_in(client, workspace)
    theirs = Company.objects.create(workspace=make_workspace("globex"), name="Theirs")
    client.post("/companies/bulk-edit/", {"record_ids": [theirs.pk], "add_tags": "vip"})
    theirs.refresh_from_db()
    assert theirs.tags == []


def test_notes_have_no_bulk_edit(client, workspace):
    logged_in(client, workspace)
    assert client.post("/notes/bulk-edit/", {"add_tags": "x"}).status_code == 404
