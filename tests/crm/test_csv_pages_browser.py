"""The CSV import page and the bulk bar's extras in a real browser (Debian's chromium): upload,
preview, the progress bar polled while a worker imports, the error report download; "Select
all N matching" and the bulk edit dialog. Screenshots go to /tmp/csvpage/."""

import csv
import io
import threading
from pathlib import Path

import pytest
from django.db import connection

from crm import csv_io, tasks
from crm.models import Company, ImportJob, Person
from tests.crm.test_browser import browser, logged_in_page, sync_api  # noqa: F401 - fixture

SCREENS = Path("/tmp/csvpage")
PEOPLE_CSV = (
    "first_name,last_name,email\n"
    "Ada,Lovelace,ada@example.com\n"
    "Grace,Hopper,not-an-email\n"
    "Alan,Turing,alan@example.com\n"
    "Edsger,Dijkstra,edsger@example.com,extra\n"
)
SIZES = {"laptop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def paused_worker(settings, monkeypatch):
    """Imports run in a thread, as a django-q2 worker would run them, and hold after their
    first batch until the test lets them go on: the page is seen mid-import, without timing."""
    settings.CRM_IMPORT_INLINE = False
    monkeypatch.setattr(csv_io, "BATCH_SIZE", 2)
    go_on = threading.Event()
    insert = csv_io._insert
    batches = []

    def insert_then_hold(obj, batch):
        batches.append(len(batch))
        if len(batches) == 2:  # the first batch and its progress are saved by now
            assert go_on.wait(30), "the test never let the import go on"
        insert(obj, batch)

    def worker(job_id):
        try:
            tasks.run_import(job_id)
        finally:
            connection.close()

    def async_task(name, job_id, **options):
        assert name == "crm.tasks.run_import"
        threading.Thread(target=worker, args=(job_id,), daemon=True).start()

    monkeypatch.setattr(csv_io, "_insert", insert_then_hold)
    monkeypatch.setattr("django_q.tasks.async_task", async_task)
    return go_on


@pytest.mark.django_db(transaction=True)
def test_importing_a_csv_with_bad_rows_shows_progress_and_the_error_report(
    browser,  # noqa: F811
    live_server,
    paused_worker,
):
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    SCREENS.mkdir(exist_ok=True)

    page.goto(f"{live_server.url}/people/")
    page.get_by_role("link", name="Import").click()
    expect(page.locator("h1")).to_have_text("Import people")
    page.set_input_files(
        "input[type=file]",
        {"name": "photo.csv", "mimeType": "text/csv", "buffer": b"\x89PNG\r\n\x1a\n\xff"},
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("alert")).to_contain_text("The file is not UTF-8 text")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENS / f"import_bad_file_{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["laptop"])
    page.set_input_files(
        "input[type=file]",
        {"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE_CSV.encode()},
    )
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.locator(".import-summary")).to_contain_text("4 rows")
    expect(page.get_by_role("list", name="Column mapping")).to_contain_text("First name")
    expect(page.get_by_role("table", name="Preview")).to_contain_text("not-an-email")
    run_workflows = page.get_by_label("Run workflows for imported records")
    expect(run_workflows).not_to_be_checked()
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENS / f"import_preview_{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["laptop"])

    page.get_by_role("button", name="Import 4 rows").click()
    bar = page.get_by_role("progressbar", name="Import progress")
    expect(bar).to_have_attribute("aria-valuenow", "2")  # the first batch, seen by polling
    expect(page.locator("#import-progress")).to_contain_text("Importing…")
    page.screenshot(path=str(SCREENS / "import_running_laptop.png"), full_page=True)

    paused_worker.set()
    expect(page.locator("#import-progress")).to_contain_text("Import finished", timeout=15000)
    expect(bar).to_have_attribute("aria-valuenow", "4")
    expect(page.locator(".import-counts")).to_contain_text("2 people created")
    expect(page.locator(".import-counts")).to_contain_text("2 rows with problems")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENS / f"import_done_{size}.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download error report").click()
    report = Path(download_info.value.path()).read_text()
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[0][:3] == ["row", "column", "message"]
    assert [(row[0], row[1]) for row in rows[1:]] == [("3", "email"), ("5", "")]
    assert "not-an-email" in rows[1] and "Dijkstra" in rows[2]
    assert sorted(Person.objects.values_list("first_name", flat=True)) == ["Ada", "Alan"]
    assert ImportJob.objects.get().status == ImportJob.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_select_all_matching_then_bulk_edit_tags_every_matching_company(
    browser,  # noqa: F811
    live_server,
):
    page = logged_in_page(browser, live_server)  # adds Northwind Analytics and Bluebird
    expect = sync_api.expect
    workspace = Company.objects.first().workspace
    for i in range(30):
        Company.objects.create(workspace=workspace, name=f"North {i:02}", city="Lille")
    SCREENS.mkdir(exist_ok=True)

    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/companies/?q=north")
        page.screenshot(path=str(SCREENS / f"list_actions_{size}.png"))
        page.get_by_label("Select all on this page").check()
        bar = page.locator("[data-bulk-bar]")
        bar.get_by_role("button", name="Select all 31 matching").click()
        expect(bar).to_contain_text("All 31 matching selected")
        expect(bar.locator("[data-selected-count]")).to_have_text("31")
        page.screenshot(path=str(SCREENS / f"select_all_matching_{size}.png"))
        bar.get_by_role("button", name="Edit").click()
        dialog = page.get_by_role("dialog", name="Edit 31 companies")
        expect(dialog).to_be_visible()
        page.screenshot(path=str(SCREENS / f"bulk_edit_{size}.png"))
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()

    page.set_viewport_size(SIZES["laptop"])
    page.locator("[data-bulk-bar]").get_by_role("button", name="Edit").click()
    page.get_by_label("Add tags").fill("north-region")
    page.get_by_role("dialog").get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("Updated 31 companies.")
    tagged = Company.objects.filter(tags=["north-region"])
    assert tagged.count() == 31
    assert not Company.objects.filter(name="Bluebird Logistics", tags=["north-region"]).exists()
