"""Each gallery template end to end (SPEC section 9): published as it is, with its outside tools
(`https://*.example.com`) pointed at a loopback peer, started the way its trigger starts it
(a signed webhook, a record write after commit, a schedule's or a person's run), proving what
its description says: the records written, the requests sent, the emails.

The lead-capture, enrichment, invoice, stale-reminder and qualify-by-form templates are also
the default workflows, run in test_default_workflows.py; intake-form-lead-capture goes through
the public form at /f/<token>/, meeting-reminder through the date trigger and notify step."""

import copy
import hashlib
import hmac
import json
import re

import pytest
from django.core import mail

from crm.models import Note, Opportunity, Person, Task
from workflows.gallery import get_template
from workflows.models import WorkflowRun

from .api_peer import ApiPeer
from .helpers import company, person, published, run_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def peer(settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    server = ApiPeer()
    yield server
    server.stop()


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Record triggers fire after the commit: run those callbacks (and what they add)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def template_graph(slug: str, peer: ApiPeer | None = None) -> dict:
    """The template's graph as it is, its outside tools pointed at the peer."""
    graph = copy.deepcopy(get_template(slug).graph)
    for step in graph["steps"]:
        if peer is not None and step["type"] == "http_request":
            url = step["settings"]["url"]
            step["settings"]["url"] = re.sub(r"^https://[a-z.-]+\.example\.com", peer.base, url)
    return graph


def publish_template(workspace, slug, peer=None):
    return published(workspace, template_graph(slug, peer), name=get_template(slug).name)


def only_run(workflow) -> WorkflowRun:
    (run,) = WorkflowRun.objects.filter(workflow=workflow)
    assert run.status == "completed", run.error
    return run


def post_signed(client, workflow, body: dict):
    raw = json.dumps(body).encode()
    signature = hmac.new(workflow.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
    response = client.post(
        f"/webhooks/{workflow.webhook_token}/",
        raw,
        content_type="application/json",
        HTTP_X_SIGNATURE=f"sha256={signature}",
    )
    assert response.status_code == 202, response.content
    return WorkflowRun.objects.get(pk=response.json()["run_id"])


def post_with_token(client, workflow, body: dict):
    response = client.post(
        f"/webhooks/{workflow.webhook_token}/",
        json.dumps(body),
        content_type="application/json",
        HTTP_X_WORKFLOW_TOKEN=workflow.webhook_secret,
    )
    assert response.status_code == 202, response.content
    return WorkflowRun.objects.get(pk=response.json()["run_id"])


# --- Lead capture and processing -------------------------------------------------------------


def test_web_form_lead_capture_through_its_webhook(client, workspace):
    workflow = publish_template(workspace, "web-form-lead-capture")
    body = {"email": "lea@example.com", "name": "Léa", "company": "Acme", "title": "CTO",
            "message": "Call me"}  # fmt: skip
    run = post_with_token(client, workflow, body)
    assert run.status == "completed", run.error
    lea = Person.objects.get(workspace=workspace, email="lea@example.com")
    assert lea.tags == ["web lead"] and lea.job_title == "CTO"
    assert Task.objects.get(person=lea).title == "Follow up with Léa (Acme)"
    assert mail.outbox[0].to == ["sales@example.com"]


def test_multi_step_processing_cleans_tags_and_upserts_and_reports_warnings(client, workspace):
    workflow = publish_template(workspace, "multi-step-data-processing")
    person(workspace, first_name="Old", email="ana.lopez@gmail.com")
    body = {"email": "  Ana.Lopez@Gmail.com ", "first_name": "ana", "last_name": "lopez-garcia",
            "city": "  san sebastián", "phone": ""}  # fmt: skip
    run = post_with_token(client, workflow, body)
    assert run.status == "completed", run.error
    (ana,) = Person.objects.filter(workspace=workspace)
    assert (ana.email, ana.first_name, ana.last_name, ana.city) == (
        "ana.lopez@gmail.com", "Ana", "Lopez-Garcia", "San Sebastián",
    )  # fmt: skip
    assert ana.tags == ["imported", "personal email"]
    (warning,) = mail.outbox
    assert warning.to == ["data-quality@example.com"]
    assert "no phone number" in warning.body and "1 earlier record" in warning.body


def test_multi_step_processing_rejects_an_invalid_record_by_email(client, workspace):
    workflow = publish_template(workspace, "multi-step-data-processing")
    run = post_with_token(client, workflow, {"email": "not-an-email", "first_name": "X"})
    assert run.status == "completed", run.error
    assert not Person.objects.exists()
    (report,) = mail.outbox
    assert report.subject == "Rejected an incoming record"
    assert "email is missing or invalid" in report.body


# --- Sync ------------------------------------------------------------------------------------


def test_product_usage_sync_stores_usage_and_flags_low_accounts(workspace, peer):
    peer.route("GET", "/v1/usage/daily", {"rows": [
        {"domain": "acme.io", "active_users": 2},
        {"domain": "BIG.io", "active_users": 50},
        {"domain": "unknown.io", "active_users": 1},
    ]})  # fmt: skip
    acme = company(workspace, name="Acme", domain="acme.io")
    big = company(workspace, name="Big", domain="big.io")
    run = run_workflow(workspace, template_graph("product-usage-sync", peer))
    assert run.status == "completed", run.error
    acme.refresh_from_db()
    big.refresh_from_db()
    assert acme.custom["active_users"] == 2 and big.custom["active_users"] == 50
    (task,) = Task.objects.all()
    assert task.title == "Usage dropped at Acme: 2 active users" and task.company == acme


def test_two_way_sync_outbound_sends_the_company_and_marks_it_synced(workspace, peer, after_commit):
    acme = company(workspace, name="Acme", domain="acme.io")
    peer.route("PUT", f"/v1/companies/{acme.pk}", {"ok": True})
    workflow = publish_template(workspace, "two-way-sync-outbound", peer)
    with after_commit():
        acme.name = "Acme Corp"
        acme.save()
    only_run(workflow)  # the sync status it writes does not start it again
    (sent,) = peer.requests
    assert sent["method"] == "PUT" and sent["json"]["name"] == "Acme Corp"
    acme.refresh_from_db()
    assert acme.custom["sync_status"] == "synced" and acme.custom["synced_at"]


def test_two_way_sync_outbound_marks_a_refused_sync_failed(workspace, peer, after_commit):
    acme = company(workspace, name="Acme")
    peer.route("PUT", f"/v1/companies/{acme.pk}", {"error": "down"}, status=503)
    graph = template_graph("two-way-sync-outbound", peer)
    graph["steps"][0]["on_error"] = {"retry": 0, "continue": True}  # no waiting in a test
    workflow = published(workspace, graph)
    with after_commit():
        acme.city = "Lyon"
        acme.save()
    only_run(workflow)
    acme.refresh_from_db()
    assert acme.custom["sync_status"] == "failed" and "HTTP 503" in acme.custom["sync_error"]


def test_two_way_sync_inbound_updates_the_matching_company(client, workspace):
    acme = company(workspace, name="Acme", domain="acme.io", city="Paris",
                   custom={"synced_at": "2999-01-01T00:00:00+00:00"})  # fmt: skip
    workflow = publish_template(workspace, "two-way-sync-inbound")
    body = {"domain": "acme.io", "name": "Acme SA", "city": "Lyon", "updated_at": "2026-01-02"}
    run = post_signed(client, workflow, body)
    assert run.status == "completed", run.error
    acme.refresh_from_db()
    assert (acme.name, acme.city) == ("Acme SA", "Lyon")
    assert acme.custom["remote_updated_at"] == "2026-01-02"
    assert not Task.objects.exists()  # nothing changed here since the last sync


def test_two_way_sync_inbound_flags_a_conflict_with_a_task(client, workspace):
    acme = company(workspace, name="Acme", domain="acme.io", city="Paris",
                   custom={"synced_at": "2000-01-01T00:00:00+00:00"})  # fmt: skip
    workflow = publish_template(workspace, "two-way-sync-inbound")
    run = post_signed(client, workflow, {"domain": "acme.io", "name": "Acme SA", "city": "Paris"})
    assert run.status == "completed", run.error
    (task,) = Task.objects.all()
    assert task.title.startswith("Sync conflict on Acme") and task.company == acme


# --- Enrichment and scoring ------------------------------------------------------------------


def test_enrichment_of_a_high_value_company_with_buying_signals(workspace, peer, after_commit):
    peer.route("GET", "/v1/companies", {"employees": 800, "industry": "Software",
               "city": "Berlin", "buying_signals": ["hiring sales", "new funding"]})  # fmt: skip
    workflow = publish_template(workspace, "data-enrichment", peer)
    with after_commit():
        big = company(workspace, name="Big", domain="big.io")
    only_run(workflow)
    big.refresh_from_db()
    assert big.employees == 800
    (task,) = Task.objects.all()
    assert task.title == "High-value account: Big (800 people)" and task.company == big
    (alert,) = mail.outbox
    assert alert.subject == "Buying signals at Big" and "hiring sales, new funding" in alert.body


def test_enrichment_of_a_small_quiet_company_adds_no_task_and_no_alert(
    workspace, peer, after_commit
):
    peer.route("GET", "/v1/companies", {"employees": 12, "industry": "Retail"})
    workflow = publish_template(workspace, "data-enrichment", peer)
    with after_commit():
        company(workspace, name="Small", domain="small.io")
    only_run(workflow)
    assert not Task.objects.exists() and mail.outbox == []


def test_email_sequence_enrolment_picks_the_sequence_and_enrols(workspace, peer, after_commit):
    peer.route("POST", "/v1/sequences/executive/enrolments", {"id": "enr_1"})
    workflow = publish_template(workspace, "email-sequence-enrolment", peer)
    with after_commit():
        ceo = person(workspace, first_name="Ada", last_name="King", email="ada@x.io",
                     job_title="CTO")  # fmt: skip
        person(workspace, first_name="No", email="no-title@x.io")  # not matching: no run
    only_run(workflow)
    (enrolment,) = peer.requests
    assert enrolment["json"] == {"email": "ada@x.io", "first_name": "Ada", "last_name": "King"}
    ceo.refresh_from_db()
    assert ceo.custom["sequence"] == "executive"
    assert Task.objects.get(person=ceo).title.endswith("with the executive sequence")


def test_lead_scoring_external_stores_the_score_and_flags_a_hot_lead(workspace, peer, after_commit):
    peer.route("POST", "/v1/score", {"score": 91.4})
    lead = person(workspace, first_name="Ravi", last_name="Shah", email="ravi@x.io")
    workflow = publish_template(workspace, "lead-scoring-external", peer)
    with after_commit():
        lead.job_title = "Head of Data"
        lead.save()
    only_run(workflow)  # storing the score does not score again
    assert peer.requests[0]["json"]["job_title"] == "Head of Data"
    lead.refresh_from_db()
    assert lead.custom["lead_score"] == 91
    assert Task.objects.get(person=lead).title == "Hot lead: Ravi Shah scored 91"


def test_lead_scoring_internal_scores_and_emails_high_scores(workspace, after_commit):
    big = company(workspace, name="Big", employees=1500, industry="Software")
    lead = person(workspace, first_name="Mia", last_name="Wong", company=big)
    workflow = publish_template(workspace, "lead-scoring-internal")
    with after_commit():
        lead.job_title = "VP Engineering"
        lead.save()
    only_run(workflow)
    lead.refresh_from_db()
    assert lead.custom["lead_score"] == 100
    (email,) = mail.outbox
    assert email.subject == "High-scoring lead: Mia Wong (100)"


def test_lead_scoring_internal_sends_nothing_for_a_low_score(workspace, after_commit):
    lead = person(workspace, first_name="Tom")
    workflow = publish_template(workspace, "lead-scoring-internal")
    with after_commit():
        lead.job_title = "Intern"
        lead.save()
    only_run(workflow)
    lead.refresh_from_db()
    assert lead.custom["lead_score"] == 0 and mail.outbox == []


# --- Sales and marketing ---------------------------------------------------------------------


def test_meeting_notes_become_a_note_tasks_and_a_recap_email(client, workspace):
    deal = Opportunity.objects.create(workspace=workspace, name="Acme renewal")
    lea = person(workspace, first_name="Léa", email="lea@acme.io")
    workflow = publish_template(workspace, "meeting-notes-from-call-recorder")
    call = {
        "title": "Renewal call",
        "summary": "They renew for two years.",
        "action_items": ["Send the contract", {"text": "Book the kick-off"}],
        "attendees": [{"email": "lea@acme.io"}, "sam@acme.io"],
        "opportunity": "Acme renewal",
    }
    run = post_signed(client, workflow, call)
    assert run.status == "completed", run.error
    note = Note.objects.get()
    assert (note.title, note.body) == ("Call notes: Renewal call", "They renew for two years.")
    assert note.opportunity == deal and note.person == lea
    assert sorted(Task.objects.values_list("title", flat=True)) == [
        "Book the kick-off",
        "Send the contract",
    ]
    assert all(t.opportunity == deal for t in Task.objects.all())
    (recap,) = mail.outbox
    assert recap.to == ["lea@acme.io", "sam@acme.io"] and recap.subject == "Notes: Renewal call"


def test_newsletter_export_sends_the_subscribers_and_tracks_the_campaign(workspace, peer):
    peer.route("POST", "/v1/lists/newsletter/members", {"campaign_id": "cmp_9"})
    person(workspace, first_name="Ada", last_name="L", email="ada@x.io", tags=["newsletter"])
    person(workspace, first_name="Bob", email="bob@x.io", tags=["customer"])
    person(workspace, first_name="Cy", tags=["newsletter"])  # no email
    run = run_workflow(workspace, template_graph("newsletter-export", peer))
    assert run.status == "completed", run.error
    (upload,) = peer.requests
    assert upload["json"] == {
        "members": [{"email": "ada@x.io", "first_name": "Ada", "last_name": "L"}]
    }
    note = Note.objects.get()
    assert note.title.startswith("Newsletter export") and "(campaign cmp_9)" in note.body
    (confirmation,) = mail.outbox
    assert confirmation.subject == "Newsletter list exported: 1 subscribers"


# --- The two that need the public form and the notify step ------------------------------------


def test_intake_form_lead_capture_through_the_public_form(workspace):
    from django.test import Client

    from workflows.triggers.form import intake_limiter

    intake_limiter.reset()
    workflow = publish_template(workspace, "intake-form-lead-capture")
    client = Client(enforce_csrf_checks=True)  # a visitor with no account, CSRF checked
    page = client.get(f"/f/{workflow.webhook_token}/")
    assert page.status_code == 200 and "Talk to us" in page.content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    answer = client.post(
        f"/f/{workflow.webhook_token}/",
        {"csrfmiddlewaretoken": token, "name": "Léa", "email": "lea@example.com",
         "company": "Acme", "title": "CTO", "message": "Call me"},
    )  # fmt: skip
    assert "Thank you! We will be in touch soon." in answer.content.decode()
    only_run(workflow)
    lea = Person.objects.get(workspace=workspace, email="lea@example.com")
    assert lea.job_title == "CTO"
    assert Task.objects.get(person=lea).title == "Follow up with Léa (Acme)"
    assert mail.outbox[0].to == ["sales@example.com"] and "Léa" in mail.outbox[0].subject


def test_meeting_reminder_notifies_the_owner_and_emails_each_attendee(workspace):
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Meeting, Role
    from tests.conftest import make_user
    from workflows.models import Notification
    from workflows.triggers.dates import fire_due_date_triggers

    workflow = publish_template(workspace, "meeting-reminder")
    owner = make_user("owner@example.com", workspace=workspace, role=Role.MEMBER)
    ada = person(workspace, first_name="Ada", email="ada@example.com")
    grace = person(workspace, first_name="Grace", email="grace@example.com")
    start = timezone.now()
    demo = Meeting.objects.create(
        workspace=workspace, title="Demo", starts_at=start + timedelta(days=1, hours=1),
        location="Room 2", owner=owner,
    )  # fmt: skip
    demo.attendees.set([ada, grace])
    assert fire_due_date_triggers(now=start + timedelta(hours=1, minutes=1)) == 1
    only_run(workflow)
    [note] = Notification.objects.filter(user=owner)
    assert note.title == "Tomorrow: Demo" and note.link == f"/meetings/{demo.pk}/"
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "grace@example.com"]
    assert all("Demo" in m.subject for m in mail.outbox)
