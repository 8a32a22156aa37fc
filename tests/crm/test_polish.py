"""What a new user sees on every page (issue 17): one date format in their own time zone,
people by name with the email on hover, Yes/No, labelled custom fields, outside links that are
never `javascript:`, lists newest first, no native confirm()."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from crm.models import Company, Meeting, Note, Opportunity, Person, Role, Task
from tests.conftest import make_user, make_workspace
from tests.workflows.helpers import graph, published, step
from workflows import queue
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
SCRIPTS = Path(settings.BASE_DIR) / "static" / "app"
# 09:30 UTC is 18:30 in Tokyo and 22:30 in Auckland (UTC+13 in January).
MOMENT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@pytest.fixture
def workspace():
    return make_workspace("acme", "Acme")


@pytest.fixture
def ada(workspace, client):
    user = make_user("ada@example.com", workspace=workspace, role=Role.OWNER)
    user.first_name, user.last_name = "Ada", "Lovelace"
    user.save()
    client.force_login(user)
    return user


def created_at(record, moment):
    type(record).objects.filter(pk=record.pk).update(created_at=moment, updated_at=moment)
    return record


def details(html: str) -> str:
    """The "Details" card of a detail page."""
    return html.split('<dl class="fields">', 1)[1].split("</dl>", 1)[0]


# --- dates -----------------------------------------------------------------------------------


def test_a_moment_reads_in_the_one_format_in_the_zone_of_the_browser(client, ada, workspace):
    company = created_at(Company.objects.create(workspace=workspace, name="Northwind"), MOMENT)
    client.cookies["tz"] = "Asia%2FTokyo"  # as app.js writes it
    page = client.get(f"/companies/{company.pk}/").content.decode()
    assert "Jan 15, 2026, 18:30" in page
    assert "09:30" not in page
    client.cookies["tz"] = "Pacific/Auckland"
    assert "Jan 15, 2026, 22:30" in client.get(f"/companies/{company.pk}/").content.decode()


def test_without_a_known_zone_the_page_is_in_utc(client, ada, workspace):
    company = created_at(Company.objects.create(workspace=workspace, name="Northwind"), MOMENT)
    for cookie in ("", "../../etc/passwd", "Mars/Olympus_Mons"):
        client.cookies["tz"] = cookie
        response = client.get(f"/companies/{company.pk}/")
        assert response.status_code == 200
        assert "Jan 15, 2026, 09:30" in response.content.decode()


def test_a_relative_time_has_the_exact_moment_and_zone_on_hover(client, ada, workspace):
    company = Company.objects.create(workspace=workspace, name="Northwind")
    Note.objects.create(workspace=workspace, title="Call", company=company, created_by=ada)
    Note.objects.filter(company=company).update(created_at=MOMENT)
    client.cookies["tz"] = "Asia/Tokyo"
    page = client.get(f"/companies/{company.pk}/").content.decode()
    assert 'title="Jan 15, 2026, 18:30 (Asia/Tokyo)"' in page


def test_the_run_page_shows_its_times_in_the_one_format(client, ada, workspace):
    workflow = published(
        workspace, graph(step("wait", "delay", {"duration": {"amount": 1, "unit": "hours"}}))
    )
    run = queue.start_run(workflow.active_version, {}, "manual", started_by=ada)
    WorkflowRun.objects.filter(pk=run.pk).update(started_at=MOMENT, created_at=MOMENT)
    client.cookies["tz"] = "Asia/Tokyo"
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Jan 15, 2026, 18:30" in page
    assert "p.m." not in page and "a.m." not in page


def test_no_template_or_script_formats_a_date_its_own_way():
    """Every date goes through crm/display.py (the `when`, `ago` and `day` filters)."""
    own_formats = re.compile(r"\|\s*(date|time|timesince|timeuntil|naturaltime)\b")
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in own_formats.finditer(path.read_text())
    ]
    raw_moment = re.compile(r"\{\{\s*[\w.]+_at\s*(\|\s*default:[^}|]*)?\}\}")  # Django's own format
    offenders += [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in raw_moment.finditer(path.read_text())
    ]
    offenders += [
        f"{path.name}: {match.group(0)}"
        for path in SCRIPTS.glob("*.js")
        for match in re.finditer(r"toLocale\w*String\(", path.read_text())
    ]
    assert offenders == []


def test_no_script_uses_the_browsers_own_confirm():
    calls = [
        path.name
        for path in SCRIPTS.glob("*.js")
        if re.search(r"(?<![\w.])(window\.)?confirm\(", _without_comments(path.read_text()))
    ]
    assert calls == []


def _without_comments(source: str) -> str:
    return re.sub(r"//[^\n]*", "", source)


# --- people ----------------------------------------------------------------------------------


def test_an_assignee_and_an_author_show_by_name_with_the_email_on_hover(client, ada, workspace):
    company = Company.objects.create(workspace=workspace, name="Northwind")
    task = Task.objects.create(workspace=workspace, title="Call", assignee=ada, company=company)
    Note.objects.create(workspace=workspace, title="Met", company=company, created_by=ada)
    task_page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert re.search(
        r'<span class="person-chip" title="ada@example.com">.*?Ada Lovelace', task_page
    )
    company_page = client.get(f"/companies/{company.pk}/").content.decode()
    # The task's assignee and the note's author are avatars: named, with the email on hover.
    assert 'aria-label="Ada Lovelace" title="Ada Lovelace · ada@example.com"' in company_page
    assert ">ada@example.com<" not in company_page


def test_the_run_page_names_who_started_it(client, ada, workspace):
    workflow = published(
        workspace, graph(step("wait", "delay", {"duration": {"amount": 1, "unit": "hours"}}))
    )
    run = queue.start_run(workflow.active_version, {}, "manual", started_by=ada)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert '<span class="person-name" title="ada@example.com">Ada Lovelace</span>' in page
    assert ">ada@example.com<" not in page


def test_the_versions_tab_names_who_published(client, ada, workspace):
    workflow = published(
        workspace,
        graph(step("wait", "delay", {"duration": {"amount": 1, "unit": "hours"}})),
        user=ada,
    )
    page = client.get(f"/workflows/{workflow.pk}/?tab=versions").content.decode()
    assert '<span class="person-name" title="ada@example.com">Ada Lovelace</span>' in page


def test_a_form_for_a_member_names_them(client, ada, workspace):
    form_graph = graph(
        step(
            "ask",
            "form",
            {
                "title": "Budget?",
                "assignee": "ada@example.com",
                "fields": [{"name": "budget", "label": "Budget", "type": "number"}],
            },
        )
    )
    workflow = published(workspace, form_graph)
    run = queue.start_run(workflow.active_version, {}, "manual")
    page = client.get("/forms/").content.decode()
    assert "for <span" in page and ">Ada Lovelace</span>" in page
    run.refresh_from_db()
    assert run.waiting_for == "form Budget?, assigned to Ada Lovelace"


# --- values ----------------------------------------------------------------------------------


def test_a_boolean_reads_yes_or_no(client, ada, workspace):
    company = Company.objects.create(workspace=workspace, name="Northwind", ideal_customer=False)
    row = details(client.get(f"/companies/{company.pk}/").content.decode())
    assert re.search(r"Ideal customer</dt>.*?>No</span>", row, re.S)
    Company.objects.filter(pk=company.pk).update(ideal_customer=True)
    row = details(client.get(f"/companies/{company.pk}/").content.decode())
    assert re.search(r"Ideal customer</dt>.*?>Yes</span>", row, re.S)


def test_custom_fields_show_their_labels_and_readable_values(client, ada, workspace):
    company = Company.objects.create(
        workspace=workspace,
        name="Northwind",
        custom={"lead_score": 42, "isPartner": False, "synced_at": "2026-01-15T09:30:00Z"},
    )
    client.cookies["tz"] = "Asia/Tokyo"
    card = details(client.get(f"/companies/{company.pk}/").content.decode())
    assert "<dt>Lead score</dt>" in card and "<dt>Is partner</dt>" in card
    assert "lead_score" not in card and "isPartner" not in card
    assert re.search(r"Is partner</dt><dd>.*?>No</span>", card, re.S)
    assert "Jan 15, 2026, 18:30" in card


@pytest.mark.parametrize(
    "zone, value",
    [("Asia/Tokyo", "9999-12-31T23:59:59Z"), ("America/New_York", "0001-01-01T00:00:00Z")],
)
def test_a_moment_at_the_calendars_edge_shows_as_written_in_any_zone(
    client, ada, workspace, zone, value
):
    """A "never" written as the last second of year 9999 (imports do) has no local time
    east of UTC; the page shows it in its own zone instead of failing."""
    company = Company.objects.create(workspace=workspace, name="Northwind", custom={"ends": value})
    client.cookies["tz"] = zone
    response = client.get(f"/companies/{company.pk}/")
    assert response.status_code == 200
    assert value[:4] in details(response.content.decode())


def test_a_task_due_at_the_calendars_edge_lists_and_edits_east_of_utc(client, ada, workspace):
    never = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    task = Task.objects.create(workspace=workspace, title="Renew someday", due_at=never)
    client.cookies["tz"] = "Asia/Tokyo"
    for path in ("/tasks/", f"/tasks/{task.pk}/", f"/tasks/{task.pk}/edit/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "9999" in response.content.decode(), path


@pytest.mark.parametrize(
    "zone, typed", [("Asia/Tokyo", "0001-01-01T00:00"), ("America/New_York", "9999-12-31T23:59")]
)
def test_a_due_time_with_no_utc_equivalent_is_refused_with_a_message(
    client, ada, workspace, zone, typed
):
    client.cookies["tz"] = zone  # the form reads the typed time in this zone
    response = client.post("/tasks/new/", {"title": "Someday", "due_at": typed})
    assert response.status_code == 200
    assert "out of range" in response.content.decode()
    assert not Task.objects.exists()


def test_a_custom_value_nested_hundreds_deep_shows_its_first_levels(client, ada, workspace):
    deep: list = ["bottom"]
    for _ in range(300):
        deep = [deep]
    company = Company.objects.create(workspace=workspace, name="Northwind", custom={"deep": deep})
    response = client.get(f"/companies/{company.pk}/")
    assert response.status_code == 200
    assert "<dt>Deep</dt>" in response.content.decode()
    assert "bottom" not in response.content.decode()


def test_a_javascript_linkedin_is_shown_as_text_never_as_a_link(client, ada, workspace):
    company = Company.objects.create(workspace=workspace, name="Evil", domain="evil.example")
    Company.objects.filter(pk=company.pk).update(
        linkedin="javascript:alert(document.cookie)",
        custom={"site": "javascript:alert(1)", "home": "https://northwind.example/about"},
    )
    page = client.get(f"/companies/{company.pk}/").content.decode()
    assert "javascript:alert(document.cookie)" in page  # still readable
    assert not re.search(r'href="\s*javascript:', page, re.I)
    assert (
        '<a class="external wrap-anywhere" href="https://evil.example" target="_blank" '
        'rel="noopener noreferrer">evil.example</a>'
    ) in page
    assert (
        'href="https://northwind.example/about" target="_blank" rel="noopener noreferrer"' in page
    )


def test_a_linkedin_url_is_a_link_that_opens_in_a_new_tab(client, ada, workspace):
    company = Company.objects.create(
        workspace=workspace, name="Northwind", linkedin="https://www.linkedin.com/company/northwind"
    )
    page = client.get(f"/companies/{company.pk}/").content.decode()
    assert (
        'href="https://www.linkedin.com/company/northwind" target="_blank" '
        'rel="noopener noreferrer">www.linkedin.com/company/northwind</a>'
    ) in page


# --- order -----------------------------------------------------------------------------------


def test_every_list_opens_newest_first(client, ada, workspace):
    now = timezone.now()
    soon, later = now + timedelta(days=1), now + timedelta(days=9)
    pairs = {
        "companies": [Company(name="Older co"), Company(name="Newer co")],
        "people": [Person(first_name="Older"), Person(first_name="Newer")],
        "opportunities": [Opportunity(name="Older deal"), Opportunity(name="Newer deal")],
        # Due dates the other way round: the list must not open sorted by due date.
        "tasks": [Task(title="Older task", due_at=soon), Task(title="Newer task", due_at=later)],
        "notes": [Note(title="Older note"), Note(title="Newer note")],
        "meetings": [
            Meeting(title="Older meeting", starts_at=later),
            Meeting(title="Newer meeting", starts_at=soon),
        ],
    }
    for plural, (older, newer) in pairs.items():
        for record, age in ((older, timedelta(days=3)), (newer, timedelta(hours=1))):
            record.workspace = workspace
            record.save()
            created_at(record, now - age)
        page = client.get(f"/{plural}/").content.decode()
        assert page.index(str(newer)) < page.index(str(older)), plural
