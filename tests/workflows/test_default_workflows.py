"""The default workflows of SPEC section 9, drawn from the template gallery, end to end through
the API: each new workspace gets them, and each one runs (HTTP steps go to a loopback peer
standing in for the outside tool instead of the internet)."""

import copy
import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from crm.models import Note, Opportunity, Person, Task
from crm.tenancy import create_workspace
from workflows import defaults
from workflows.gallery import get_template
from workflows.models import OutboxEmail, Secret, Workflow, WorkflowRun
from workflows.steps import get_handler
from workflows.triggers.kinds import KINDS
from workflows.validation import validate

from .api_peer import ApiPeer
from .helpers import company, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def peer(settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    server = ApiPeer()
    yield server
    server.stop()


def point_at(graph: dict, peer: ApiPeer) -> dict:
    """A copy of a template's graph whose outside tools (https://*.example.com) are the peer."""
    graph = copy.deepcopy(graph)
    for each in graph["steps"]:
        if each["type"] == "http_request":
            url = each["settings"]["url"]
            each["settings"]["url"] = re.sub(r"^https://[a-z.-]+\.example\.com", peer.base, url)
    return graph


def missing_types(graph) -> list[str]:
    trigger = graph["trigger"]["type"]
    missing = [] if trigger in KINDS else [trigger]
    return missing + [s["type"] for s in graph["steps"] if get_handler(s["type"]) is None]


def test_every_default_workflow_is_valid():
    for name, _, graph in defaults.DEFAULT_WORKFLOWS:
        if not missing_types(graph):  # notify arrives with another branch
            assert validate(graph) == [], name


def test_a_new_workspace_gets_the_defaults_published_and_inactive(db):
    workspace = create_workspace("fresh", owner_email="o@example.com", password="pw")
    workflows = Workflow.objects.filter(workspace=workspace)
    assert workflows.count() == len(defaults.DEFAULT_WORKFLOWS)
    complete = {name for name, _, graph in defaults.DEFAULT_WORKFLOWS if not missing_types(graph)}
    for workflow in workflows.filter(name__in=complete):
        assert workflow.status == "inactive"
        assert workflow.versions.get(number=1).status == "deactivated"
    create_workspace("fresh")
    assert Workflow.objects.filter(workspace=workspace).count() == len(defaults.DEFAULT_WORKFLOWS)


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


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_enrichment_fills_in_the_company_with_the_secret_never_stored(
    api, workspace, peer, after_commit
):
    defaults.install_default_workflows(workspace)
    Secret.objects.create(workspace=workspace, name="ENRICHMENT_API_KEY", value="sk-live-42xyz")
    peer.route("GET", "/v1/companies", {"employees": 120, "industry": "Software", "city": "Lyon"})
    graph = point_at(get_template("data-enrichment").graph, peer)
    workflow = use_workflow(api, "Enrich new companies", graph)
    with after_commit():
        acme = company(workspace, name="Acme", domain="acme.io")
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == "completed", run.error
    (request,) = peer.requests
    assert request["query"] == {"domain": "acme.io"}
    assert request["headers"]["Authorization"] == "Bearer sk-live-42xyz"
    acme.refresh_from_db()
    assert (acme.employees, acme.industry, acme.city) == (120, "Software", "Lyon")
    stored = json.dumps([[s.input, s.output, s.error] for s in run.steps.all()])
    assert "sk-live-42xyz" not in stored and "Bearer ***" in stored


def test_won_opportunity_creates_the_customer_then_the_invoice_and_tells_finance(
    api, workspace, peer, after_commit
):
    defaults.install_default_workflows(workspace)
    Secret.objects.create(workspace=workspace, name="BILLING_API_KEY", value="bill-secret")
    peer.route("POST", "/v1/customers", {"id": "cus_1"})
    peer.route("POST", "/v1/invoices", {"id": "inv_7"})
    graph = point_at(get_template("invoice-on-won-deal").graph, peer)
    workflow = use_workflow(api, "Won opportunity to invoice", graph)
    acme = company(workspace, name="Acme", domain="acme.io")
    lea = person(workspace, first_name="Léa", last_name="Roy", email="lea@acme.io")
    deal = Opportunity.objects.create(
        workspace=workspace, name="Big deal", amount=1200, currency="EUR", company=acme,
        point_of_contact=lea, stage="proposal",
    )  # fmt: skip
    with after_commit():
        deal.stage = "won"
        deal.save()
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == "completed", run.error
    customer, invoice = peer.requests
    assert customer["path"] == "/v1/customers"
    assert customer["json"] == {
        "name": "Acme", "domain": "acme.io", "email": "lea@acme.io", "contact": "Léa Roy",
    }  # fmt: skip
    assert invoice["json"] == {
        "customer_id": "cus_1", "amount": 1200, "currency": "EUR", "description": "Big deal",
        "reference": str(deal.pk),
    }  # fmt: skip
    assert Opportunity.objects.get(pk=deal.pk).custom["invoice_ref"] == "inv_7"
    (email,) = mail.outbox
    assert email.to == ["finance@example.com"] and "inv_7" in email.subject


def test_stale_reminder_adds_a_task_per_stale_open_opportunity(api, workspace):
    defaults.install_default_workflows(workspace)
    workflow = Workflow.objects.get(name="Stale opportunity reminder")
    stale = Opportunity.objects.create(workspace=workspace, name="Sleepy", stage="proposal")
    Opportunity.objects.create(workspace=workspace, name="Fresh", stage="proposal")
    won = Opportunity.objects.create(workspace=workspace, name="Done", stage="won")
    old = timezone.now() - timedelta(days=31)
    Opportunity.objects.filter(pk__in=[stale.pk, won.pk]).update(updated_at=old)
    run = run_draft(api, workflow, {})
    assert run["status"] == "completed", run["error"]
    assert list(Task.objects.values_list("title", flat=True)) == [
        "Stale: Sleepy has not moved in 30 days"
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
