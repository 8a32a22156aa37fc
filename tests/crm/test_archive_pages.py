"""Archive and restore on the record pages: the Archived view, the detail page's buttons and
the bulk actions (SPEC section 8)."""

import pytest

from crm import records
from crm.models import Company
from tests.conftest import make_user, make_workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, workspace):
    client.force_login(make_user(workspace=workspace))
    return client


def company(workspace, name):
    return Company.objects.create(workspace=workspace, name=name)


def test_the_list_leaves_archived_records_out_and_the_archived_view_shows_them(browser, workspace):
    company(workspace, "Kept")
    records.archive_record(company(workspace, "Shelved"))
    live = browser.get("/companies/").content.decode()
    assert "Kept" in live and "Shelved" not in live
    archived = browser.get("/companies/?archived=1").content.decode()
    assert "Shelved" in archived and "Kept" not in archived
    assert "Restore" in archived


def test_the_archive_button_archives_and_the_restore_button_restores(browser, workspace):
    acme = company(workspace, "Acme")
    response = browser.post(f"/companies/{acme.pk}/archive/", follow=True)
    acme.refresh_from_db()
    assert acme.archived_at is not None
    assert "archived" in response.content.decode()
    browser.post(f"/companies/{acme.pk}/restore/")
    acme.refresh_from_db()
    assert acme.archived_at is None


def test_archiving_an_archived_record_from_its_page_says_so(browser, workspace):
    acme = company(workspace, "Acme")
    records.archive_record(acme)
    response = browser.post(f"/companies/{acme.pk}/archive/", follow=True)
    assert "already archived" in response.content.decode()


def test_bulk_archive_and_bulk_restore_change_only_the_ticked_records(browser, workspace):
    one, two, three = (company(workspace, n) for n in ("One", "Two", "Three"))
    browser.post("/companies/bulk-archive/", {"record_ids": [one.pk, two.pk]})
    assert set(Company.objects.filter(archived_at__isnull=False)) == {one, two}
    browser.post("/companies/bulk-restore/", {"record_ids": [one.pk]})
    assert set(Company.objects.filter(archived_at__isnull=False)) == {two}
    assert three.pk


def test_bulk_archive_ignores_records_of_another_workspace(browser, workspace):
    other = company(make_workspace("other"), "Theirs")
    browser.post("/companies/bulk-archive/", {"record_ids": [other.pk]})
    other.refresh_from_db()
    assert other.archived_at is None


def test_an_archived_record_page_says_it_is_archived(browser, workspace):
    acme = company(workspace, "Acme")
    records.archive_record(acme)
    page = browser.get(f"/companies/{acme.pk}/").content.decode()
    assert "Archived" in page and f"/companies/{acme.pk}/restore/" in page


def test_the_admin_archive_action_archives_through_the_service(client, workspace):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin_user)
    acme = company(workspace, "Acme")
    client.post(
        "/admin/crm/company/",
        {"action": "archive", "_selected_action": [acme.pk]},
    )
    acme.refresh_from_db()
    assert acme.archived_at is not None
    assert client.get("/admin/crm/company/?archived=yes").status_code == 200
