"""The CSV import pages (issue 17): upload, preview, the import as a job with its progress,
the error report, bad files answered inline, and workspace isolation."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from crm import csv_io, imports
from crm.models import Activity, Company, ImportJob, Person, Role
from tests.conftest import make_user, make_workspace
from tests.workflows.helpers import graph, published, step
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db

PEOPLE_CSV = (
    "first_name,last_name,email,city\n"
    "Ada,Lovelace,ada@example.com,London\n"
    "Grace,Hopper,not-an-email,Arlington\n"
    "Alan,Turing,alan@example.com,Wilmslow\n"
    "Edsger,Dijkstra,edsger@example.com,Nuenen,extra\n"
)


EDSGER = ["Edsger", "Dijkstra", "edsger@example.com", "Nuenen", "extra"]


def logged_in(client, workspace, email="ada@example.com", role=Role.MEMBER):
    user = make_user(email, workspace=workspace, role=role)
    client.force_login(user)
    return user


def upload(client, text: str | bytes, name="people.csv", plural="people"):
    content = text.encode() if isinstance(text, str) else text
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(f"/{plural}/import/", {"file": file})


def uploaded_job(client, text=PEOPLE_CSV, plural="people") -> ImportJob:
    response = upload(client, text, plural=plural)
    assert response.status_code == 302, response.content.decode()[:500]
    return ImportJob.objects.get()


def start(client, job, django_capture_on_commit_callbacks, fire_triggers=False, plural="people"):
    """Presses "Import"; the job runs after the commit, as a worker would pick it up."""
    data = {"fire_triggers": "on"} if fire_triggers else {}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/{plural}/import/{job.pk}/start/", data)
    assert response.status_code == 302
    job.refresh_from_db()
    return job


def report_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


# --- the list page links here -----------------------------------------------------------------


@pytest.mark.parametrize("plural", ["companies", "people", "opportunities", "tasks", "notes"])
def test_every_list_page_links_to_its_import_page(client, workspace, plural):
    logged_in(client, workspace)
    page = client.get(f"/{plural}/").content.decode()
    assert f'href="/{plural}/import/"' in page
    assert client.get(f"/{plural}/import/").status_code == 200


# --- upload and preview -----------------------------------------------------------------------


def test_uploading_shows_the_first_rows_the_column_mapping_and_the_row_count(client, workspace):
    logged_in(client, workspace)
    job = uploaded_job(client, "first_name,email,id,company_name\nAda,ada@x.io,,\nGrace,g@x.io,,\n")
    page = client.get(f"/people/import/{job.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<strong>2 rows</strong>" in html
    assert page.context["mapping"] == [
        ("first_name", "First name"),
        ("email", "Email"),
        ("id", None),  # described, not imported
        ("company_name", None),
    ]
    assert page.context["sample_rows"] == [["Ada", "ada@x.io", "", ""], ["Grace", "g@x.io", "", ""]]
    assert "Run workflows for imported records" in html
    assert not Person.objects.exists()  # nothing is imported before "Import"


def test_the_preview_shows_only_the_first_rows_of_a_long_file(client, workspace):
    logged_in(client, workspace)
    rows = "".join(f"Person{i},p{i}@x.io\n" for i in range(40))
    job = uploaded_job(client, "first_name,email\n" + rows)
    page = client.get(f"/people/import/{job.pk}/")
    assert len(page.context["sample_rows"]) == imports.PREVIEW_ROWS
    assert job.total == 40


# --- the import -------------------------------------------------------------------------------


def test_importing_creates_the_good_rows_and_counts_the_bad_ones(
    client, workspace, django_capture_on_commit_callbacks
):
    user = logged_in(client, workspace)
    job = start(client, uploaded_job(client), django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE
    assert (job.total, job.done, job.created) == (4, 4, 2)
    assert [row["row"] for row in job.failed_rows] == [3, 5]
    assert sorted(Person.objects.values_list("first_name", flat=True)) == ["Ada", "Alan"]
    assert set(Person.objects.values_list("created_by", flat=True)) == {user.pk}
    assert job.content == b""  # the file is not kept once imported

    page = client.get(f"/people/import/{job.pk}/").content.decode()
    assert "<strong>2</strong> people created" in page
    assert "<strong>2</strong> rows with problems" in page
    assert "Download error report" in page
    assert 'hx-trigger="every 1s"' not in page  # finished: the page stops polling


def test_the_error_report_names_each_bad_row_its_column_its_message_and_the_row(
    client, workspace, django_capture_on_commit_callbacks
):
    logged_in(client, workspace)
    job = start(client, uploaded_job(client), django_capture_on_commit_callbacks)
    response = client.get(f"/people/import/{job.pk}/errors.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = report_rows(response)
    assert header == ["row", "column", "message", "first_name", "last_name", "email", "city"]
    assert rows == [
        [
            "3",
            "email",
            "Enter a valid email address.",
            "Grace",
            "Hopper",
            "not-an-email",
            "Arlington",
        ],
        ["5", "", "This row has 5 cells but the header names 4.", *EDSGER],
    ]


def test_the_error_report_writes_formula_cells_as_text(
    client, workspace, django_capture_on_commit_callbacks
):
    logged_in(client, workspace)
    job = uploaded_job(client, 'first_name,email\n=HYPERLINK("http://x"),bad\n')
    start(client, job, django_capture_on_commit_callbacks)
    _, row = report_rows(client.get(f"/people/import/{job.pk}/errors.csv"))
    assert row[3] == '\'=HYPERLINK("http://x")'


def test_the_progress_fragment_reports_the_rows_done_while_the_import_runs(client, workspace):
    logged_in(client, workspace)
    job = uploaded_job(client)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, done=2)
    fragment = client.get(f"/people/import/{job.pk}/progress/").content.decode()
    assert 'aria-valuenow="2"' in fragment and 'aria-valuemax="4"' in fragment
    assert "width: 50%" in fragment
    assert 'hx-trigger="every 1s"' in fragment  # still running: polled again


def test_the_job_saves_its_progress_after_each_batch(
    client, workspace, monkeypatch, django_capture_on_commit_callbacks
):
    logged_in(client, workspace)
    monkeypatch.setattr(csv_io, "BATCH_SIZE", 2)
    done_before_each_batch = []
    insert = csv_io._insert

    def noting_progress(obj, batch):
        done_before_each_batch.append(ImportJob.objects.values_list("done", flat=True).get())
        insert(obj, batch)

    monkeypatch.setattr(csv_io, "_insert", noting_progress)
    start(client, uploaded_job(client), django_capture_on_commit_callbacks)
    assert done_before_each_batch == [0, 2]  # what a polling page saw while it ran


def test_pressing_import_twice_runs_the_import_once(
    client, workspace, django_capture_on_commit_callbacks
):
    logged_in(client, workspace)
    job = start(client, uploaded_job(client), django_capture_on_commit_callbacks)
    start(client, job, django_capture_on_commit_callbacks)
    assert Person.objects.count() == 2


def test_imported_records_say_on_their_timeline_who_imported_them(
    client, workspace, django_capture_on_commit_callbacks
):
    logged_in(client, workspace)
    start(client, uploaded_job(client), django_capture_on_commit_callbacks)
    actors = set(Activity.objects.values_list("actor", flat=True))
    assert actors == {"import by ada@example.com"}


# --- "Run workflows for imported records" ------------------------------------------------------


def person_created_workflow(workspace):
    trigger = {"type": "record_created", "settings": {"object": "person"}}
    noted = step("noted", "filter", {"when": {"all": []}})
    return published(workspace, graph(noted, trigger=trigger), name="On new person")


def test_an_import_left_unticked_starts_no_workflow_runs(
    client, workspace, django_capture_on_commit_callbacks
):
    logged_in(client, workspace)
    workflow = person_created_workflow(workspace)
    start(client, uploaded_job(client), django_capture_on_commit_callbacks, fire_triggers=False)
    assert Person.objects.count() == 2
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()


def test_an_import_with_workflows_ticked_starts_a_run_per_new_record(
    client, workspace, django_capture_on_commit_callbacks
):
    logged_in(client, workspace)
    workflow = person_created_workflow(workspace)
    start(client, uploaded_job(client), django_capture_on_commit_callbacks, fire_triggers=True)
    runs = WorkflowRun.objects.filter(workflow=workflow)
    assert runs.count() == 2
    names = {run.trigger_payload["record"]["first_name"] for run in runs}
    assert names == {"Ada", "Alan"}


# --- bad files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not UTF-8 text"),
        (b"", "The file is empty"),
        (b"first_name,shoe_size\nAda,38\n", "Unknown columns: shoe_size"),
        (b"first_name,email\n", "no rows to import"),
        (b'first_name,email\n"Ada,ada@x.io\n', "not valid CSV"),
    ],
    ids=["not-csv", "empty", "unknown-column", "header-only", "unclosed-quote"],
)
def test_a_bad_file_is_answered_inline_with_a_clear_message(client, workspace, content, message):
    logged_in(client, workspace)
    response = upload(client, content)
    assert response.status_code == 400
    html = response.content.decode()
    assert "This file cannot be imported." in html and message in html
    assert 'role="alert"' in html
    assert not ImportJob.objects.exists()


def test_a_file_over_the_size_limit_is_answered_inline(client, workspace, monkeypatch):
    logged_in(client, workspace)
    monkeypatch.setattr(csv_io, "MAX_IMPORT_BYTES", 20)
    response = upload(client, "first_name\n" + "Ada\n" * 10)
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_posting_without_a_file_asks_for_one(client, workspace):
    logged_in(client, workspace)
    response = client.post("/people/import/", {})
    assert response.status_code == 400
    assert "Choose a CSV file to import." in response.content.decode()


def test_the_error_report_of_an_unfinished_import_is_not_found(client, workspace):
    logged_in(client, workspace)
    job = uploaded_job(client)
    assert client.get(f"/people/import/{job.pk}/errors.csv").status_code == 404


# --- who may import, and isolation ------------------------------------------------------------


def test_a_member_may_import_records(client, workspace, django_capture_on_commit_callbacks):
    logged_in(client, workspace, role=Role.MEMBER)
    start(client, uploaded_job(client), django_capture_on_commit_callbacks)
    assert Person.objects.filter(workspace=workspace).count() == 2


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client, workspace):
    response = client.get("/people/import/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_workspace_never_sees_or_starts_an_import(
    client, workspace, django_capture_on_commit_callbacks
):
    logged_in(client, workspace)
    job = uploaded_job(client)
    other = make_workspace("globex")
    client.force_login(make_user("eve@globex.com", workspace=other))
    for path in ["", "progress/", "errors.csv"]:
        assert client.get(f"/people/import/{job.pk}/{path}").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/people/import/{job.pk}/start/").status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_an_import_job_is_only_found_under_its_own_object(client, workspace):
    logged_in(client, workspace)
    job = uploaded_job(client)
    assert client.get(f"/companies/import/{job.pk}/").status_code == 404


def test_imported_records_land_in_the_importers_workspace_only(
    client, workspace, django_capture_on_commit_callbacks
):
    other = make_workspace("globex")
    Company.objects.create(workspace=other, name="Globex")
    logged_in(client, workspace)
    job = uploaded_job(client, "name,city\nAcme,Lyon\n", plural="companies")
    start(client, job, django_capture_on_commit_callbacks, plural="companies")
    assert list(Company.objects.filter(workspace=workspace).values_list("name", flat=True)) == [
        "Acme"
    ]
    assert Company.objects.filter(workspace=other).count() == 1


def test_a_file_left_unimported_for_a_day_is_dropped_at_the_next_upload(client, workspace):
    logged_in(client, workspace)
    stale = uploaded_job(client)
    ImportJob.objects.filter(pk=stale.pk).update(
        created_at=stale.created_at - imports.UNSTARTED_KEPT_FOR
    )
    fresh = upload(client, PEOPLE_CSV)
    assert fresh.status_code == 302
    assert not ImportJob.objects.filter(pk=stale.pk).exists()
    assert ImportJob.objects.count() == 1


def test_an_import_whose_worker_died_is_shown_as_stopped_not_polled_for_ever(
    client, workspace, settings
):
    logged_in(client, workspace)
    job = uploaded_job(client)
    too_long = timedelta(seconds=settings.Q_CLUSTER["timeout"] + 61)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, done=2, started_at=timezone.now() - too_long
    )
    fragment = client.get(f"/people/import/{job.pk}/progress/").content.decode()
    assert "Import stopped" in fragment and "did not finish within" in fragment
    assert 'hx-trigger="every 1s"' not in fragment
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


def test_an_import_that_started_recently_is_still_awaited(client, workspace):
    logged_in(client, workspace)
    job = uploaded_job(client)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    fragment = client.get(f"/people/import/{job.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in fragment
