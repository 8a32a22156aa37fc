"""Meetings (SPEC section 2): the record object with people as attendees, through the API,
CSV, pages, `date_relative` triggers and the meeting-reminder default workflow."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from crm.models import Meeting, Person
from tests.conftest import make_user, make_workspace
from tests.crm.api_factories import client_for
from tests.workflows.helpers import company, graph, person, published, step
from workflows import defaults
from workflows.models import WorkflowRun
from workflows.steps import get_handler
from workflows.triggers.dates import fire_due_date_triggers
from workflows.validation import validate

pytestmark = pytest.mark.django_db

SOON = "2030-05-06T10:00:00Z"


def meeting(workspace, title="Demo", starts_at=None, attendees=(), **values):
    created = Meeting.objects.create(
        workspace=workspace,
        title=title,
        starts_at=starts_at or timezone.now() + timedelta(days=3),
        **values,
    )
    created.attendees.set(attendees)
    return created


def test_a_meeting_is_created_with_its_attendees_and_shown_with_their_names(workspace):
    ada = person(workspace, first_name="Ada", last_name="Lovelace")
    api = client_for(workspace)
    response = api.post(
        "/api/v1/meetings/",
        {"title": "Demo", "starts_at": SOON, "attendees": [str(ada.pk)]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["attendees"] == [str(ada.pk)]
    assert body["attendees_name"] == "Ada Lovelace"
    assert body["status"] == "scheduled" and body["archived_at"] is None
    assert list(Meeting.objects.get(pk=body["id"]).attendees.all()) == [ada]


def test_attendees_can_be_replaced_by_a_patch(workspace):
    ada, grace = person(workspace, first_name="Ada"), person(workspace, first_name="Grace")
    demo = meeting(workspace, attendees=[ada])
    response = client_for(workspace).patch(
        f"/api/v1/meetings/{demo.pk}/", {"attendees": [str(grace.pk)]}, format="json"
    )
    assert response.status_code == 200
    assert list(demo.attendees.all()) == [grace]


def test_an_attendee_of_another_workspace_is_refused(workspace):
    stranger = person(make_workspace("other"))
    response = client_for(workspace).post(
        "/api/v1/meetings/",
        {"title": "Demo", "starts_at": SOON, "attendees": [str(stranger.pk)]},
        format="json",
    )
    assert response.status_code == 400
    assert "in this workspace" in str(response.json()["attendees"])
    assert not Meeting.objects.exists()


def test_a_meeting_cannot_end_before_it_starts(workspace):
    response = client_for(workspace).post(
        "/api/v1/meetings/",
        {"title": "Demo", "starts_at": SOON, "ends_at": "2030-05-06T09:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "ends_at" in response.json()


def test_meetings_import_from_csv_with_attendee_ids_and_export_them(workspace):
    ada, grace = person(workspace, first_name="Ada"), person(workspace, first_name="Grace")
    api = client_for(workspace)
    text = f'title,starts_at,attendees\nDemo,{SOON},"{ada.pk}, {grace.pk}"\n'
    response = api.post("/api/v1/meetings/import/", text, content_type="text/csv")
    assert response.json()["created"] == 1, response.json()
    assert set(Meeting.objects.get().attendees.all()) == {ada, grace}
    exported = b"".join(api.get("/api/v1/meetings/export/").streaming_content).decode()
    assert str(ada.pk) in exported and "Grace" in exported


def test_person_company_and_opportunity_pages_list_their_meetings(client, workspace):
    from crm.models import Opportunity

    client.force_login(make_user(workspace=workspace))
    acme = company(workspace)
    deal = Opportunity.objects.create(workspace=workspace, name="Deal", company=acme)
    ada = person(workspace, company=acme)
    meeting(workspace, title="Quarterly review", attendees=[ada], company=acme, opportunity=deal)
    for url in (f"/people/{ada.pk}/", f"/companies/{acme.pk}/", f"/opportunities/{deal.pk}/"):
        page = client.get(url).content.decode()
        assert 'id="related-meetings"' in page and "Quarterly review" in page, url


def test_the_meetings_pages_list_create_and_edit_with_attendees(client, workspace):
    client.force_login(make_user(workspace=workspace))
    ada = person(workspace, first_name="Ada")
    response = client.post(
        "/meetings/new/",
        {"title": "Kick-off", "starts_at": "2030-05-06T10:00", "status": "scheduled",
         "attendees": [str(ada.pk)]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    created = Meeting.objects.get()
    assert list(created.attendees.all()) == [ada]
    assert "Kick-off" in client.get("/meetings/").content.decode()
    edit = client.get(f"/meetings/{created.pk}/edit/").content.decode()
    assert 'name="attendees"' in edit and "multiple" in edit


def test_a_date_relative_trigger_on_starts_at_with_offset_zero_fires_at_that_moment(workspace):
    trigger = {
        "type": "date_relative",
        "settings": {
            "object": "meeting",
            "field": "starts_at",
            "offset": {"amount": 0, "unit": "minutes", "direction": "before"},
        },
    }
    workflow = published(
        workspace, graph(step("ok", "filter", {"when": {"all": []}}), trigger=trigger)
    )
    start = timezone.now()
    demo = meeting(workspace, starts_at=start + timedelta(minutes=10))
    assert fire_due_date_triggers(now=start + timedelta(minutes=9)) == 0
    assert fire_due_date_triggers(now=start + timedelta(minutes=10)) == 1
    [run] = WorkflowRun.objects.filter(workflow=workflow)
    assert run.trigger_payload["due"] == demo.starts_at.isoformat()


def test_a_date_relative_trigger_on_ends_at_validates_and_an_unknown_field_does_not():
    settings = {"object": "meeting", "field": "ends_at", "offset": {"amount": 0}}
    ok = graph(
        step("ok", "filter", {"when": {"all": []}}),
        trigger={"type": "date_relative", "settings": settings},
    )
    assert validate(ok) == []
    bad = graph(
        step("ok", "filter", {"when": {"all": []}}),
        trigger={"type": "date_relative", "settings": {**settings, "field": "title"}},
    )
    assert validate(bad)


def test_the_meeting_reminder_emails_each_attendee_a_day_before(workspace):
    if get_handler("notify") is None:  # the template notifies the owner first (SPEC 9)
        pytest.skip("the notify step is not on this branch yet")
    [(name, _, raw)] = [d for d in defaults.DEFAULT_WORKFLOWS if d[0] == "Meeting reminder"]
    workflow = published(workspace, raw, name=name)
    ada = person(workspace, first_name="Ada", email="ada@example.com")
    grace = person(workspace, first_name="Grace", email="grace@example.com")
    start = timezone.now()
    meeting(
        workspace,
        title="Demo",
        starts_at=start + timedelta(days=1, hours=1),
        attendees=[ada, grace],
    )
    assert fire_due_date_triggers(now=start + timedelta(hours=1, minutes=1)) == 1
    [run] = WorkflowRun.objects.filter(workflow=workflow)
    assert run.status == "completed", run.error
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "grace@example.com"]
    assert all("Demo" in m.subject for m in mail.outbox)


def test_seed_demo_creates_meetings_with_attendees(db):
    from django.core.management import call_command

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert Meeting.objects.count() >= 10
    assert Person.objects.filter(meetings__isnull=False).exists()
