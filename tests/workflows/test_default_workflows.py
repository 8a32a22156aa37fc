"""The default workflows of SPEC section 9, end to end through the API: each new workspace
gets them, and each one runs (HTTP steps go to a loopback peer instead of the internet)."""

import copy
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from crm.models import Note, Opportunity, Person, Task
from crm.tenancy import create_workspace
from workflows import defaults
from workflows.models import OutboxEmail, Secret, Workflow
from workflows.validation import validate

from .helpers import person
from .http_peer import Peer

pytestmark = pytest.mark.django_db


@pytest.fixture
def peer(settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Peer()
    yield server
    server.stop()


def test_every_default_workflow_is_valid():
    for name, _, graph in defaults.DEFAULT_WORKFLOWS:
        assert validate(graph) == [], name


def test_a_new_workspace_gets_the_defaults_published_and_inactive(db):
    workspace = create_workspace("fresh", owner_email="o@example.com", password="pw")
    workflows = Workflow.objects.filter(workspace=workspace)
    assert workflows.count() == 5
    for workflow in workflows:
        assert workflow.status == "inactive"
        assert workflow.versions.get(number=1).status == "deactivated"
    create_workspace("fresh")
    assert Workflow.objects.filter(workspace=workspace).count() == 5  # idempotent


def use_workflow(api, name, graph=None):
    """Activates a default workflow (after pointing its graph elsewhere, when given)."""
    workflow = Workflow.objects.get(name=name)
    if graph is not None:
        assert (
            api.put(f"/api/v1/workflows/{workflow.pk}/draft/", graph, format="json").status_code
            == 200
        )
        assert api.post(f"/api/v1/workflows/{workflow.pk}/publish/").status_code == 200
    else:
        assert api.post(f"/api/v1/workflows/{workflow.pk}/activate/").status_code == 200
    return workflow


def run_draft(api, workflow, payload) -> dict:
    """Tests the workflow's draft (restored from its latest version when there is none)."""
    if not workflow.draft:
        latest = workflow.versions.exclude(number=None).order_by("-number").first().number
        api.post(f"/api/v1/workflows/{workflow.pk}/versions/{latest}/restore/")
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/test/", {"payload": payload}, format="json"
    )
    assert response.status_code == 202, response.content
    return api.get(f"/api/v1/runs/{response.json()['run_id']}/").json()


def test_lead_capture_creates_the_person_a_task_and_emails_sales(api, workspace):
    defaults.install_default_workflows(workspace)
    workflow = Workflow.objects.get(name="Web-form lead capture")
    body = {
        "email": "lea@example.com",
        "name": "Léa",
        "company": "Acme",
        "title": "CTO",
        "message": "Call me",
    }
    run = run_draft(api, workflow, {"body": body})
    assert run["status"] == "completed", run["error"]
    lea = Person.objects.get(email="lea@example.com")
    assert Task.objects.get(person=lea).title == "Follow up with Léa (Acme)"
    assert mail.outbox[0].subject == "New web lead: Léa"
    assert OutboxEmail.objects.get().status == "sent"

    run = run_draft(api, workflow, {"body": {**body, "title": "CEO"}})
    assert [s["step_id"] for s in run["steps"]][:3] == ["find", "known", "touch"]
    lea.refresh_from_db()
    assert lea.job_title == "CEO" and Person.objects.count() == 1


def test_enrichment_calls_the_api_with_the_secret_but_never_stores_it(api, workspace, peer):
    defaults.install_default_workflows(workspace)
    Secret.objects.create(workspace=workspace, name="ENRICHMENT_API_KEY", value="sk-live-42xyz")
    graph = copy.deepcopy(defaults.ENRICH_COMPANY)
    graph["steps"][0]["settings"]["url"] = peer.url("/echo")
    workflow = use_workflow(api, "Enrich new companies", graph)
    run = run_draft(
        api,
        workflow,
        {"record": {"id": "00000000-0000-0000-0000-000000000000", "domain": "acme.io"}},
    )
    lookup = run["steps"][0]
    assert (lookup["output"] or {}).get("status") == 200, lookup["error"]
    assert lookup["output"]["body"]["headers"]["Authorization"] == "Bearer ***"
    assert "sk-live-42xyz" not in json.dumps(run)
    assert run["steps"][1]["status"] == "succeeded"  # the code step shaped the answer


def test_won_opportunity_posts_the_invoice_and_tells_finance(api, workspace, peer):
    defaults.install_default_workflows(workspace)
    Secret.objects.create(workspace=workspace, name="BILLING_API_KEY", value="bill-secret")
    graph = copy.deepcopy(defaults.WON_TO_INVOICE)
    graph["steps"][0]["settings"]["url"] = peer.url("/echo")
    workflow = use_workflow(api, "Won opportunity to invoice", graph)
    deal = Opportunity.objects.create(workspace=workspace, name="Big deal", amount=1200)
    run = run_draft(
        api,
        workflow,
        {
            "record": {
                "id": str(deal.pk),
                "name": "Big deal",
                "amount": 1200,
                "currency": "USD",
                "company_name": "Acme",
                "stage": "won",
            }
        },
    )
    assert run["status"] == "completed", run["error"]
    sent = json.loads(run["steps"][0]["output"]["body"]["body"])
    assert sent == {
        "customer": "Acme",
        "amount": 1200,
        "currency": "USD",
        "reference": str(deal.pk),
    }
    assert "invoice_ref" in Opportunity.objects.get(pk=deal.pk).custom
    assert mail.outbox[0].to == ["finance@example.com"]


def test_stale_reminder_adds_a_task_per_stale_open_opportunity(api, workspace):
    defaults.install_default_workflows(workspace)
    workflow = Workflow.objects.get(name="Stale opportunity reminder")
    stale = Opportunity.objects.create(workspace=workspace, name="Sleepy", stage="proposal")
    Opportunity.objects.create(workspace=workspace, name="Fresh", stage="proposal")
    won = Opportunity.objects.create(workspace=workspace, name="Done", stage="won")
    old = timezone.now() - timedelta(days=30)
    Opportunity.objects.filter(pk__in=[stale.pk, won.pk]).update(updated_at=old)
    run = run_draft(api, workflow, {})
    assert run["status"] == "completed", run["error"]
    assert list(Task.objects.values_list("title", flat=True)) == [
        "Stale: Sleepy has not moved in two weeks"
    ]


def test_qualify_by_form_saves_the_answers(api, workspace):
    defaults.install_default_workflows(workspace)
    workflow = use_workflow(api, "Qualify lead by form")
    lead = person(workspace, first_name="Ravi", last_name="Shah")
    run_id = api.post(
        f"/api/v1/workflows/{workflow.pk}/run/", {"record_id": str(lead.pk)}, format="json"
    ).json()["run_ids"][0]
    form = api.get("/api/v1/forms/").json()["results"][0]
    assert form["title"] == "Qualify Ravi Shah"
    submitted = api.post(
        f"/api/v1/forms/{form['id']}/submit/",
        {"values": {"budget": 20000, "timeline": "this quarter", "fit": True, "notes": "Keen"}},
        format="json",
    )
    assert submitted.status_code == 200
    assert api.get(f"/api/v1/runs/{run_id}/").json()["status"] == "completed"
    lead.refresh_from_db()
    assert lead.custom == {"budget": 20000, "timeline": "this quarter", "qualified": True}
    assert "Keen" in Note.objects.get(person=lead).body
