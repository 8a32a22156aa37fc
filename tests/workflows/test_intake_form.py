"""The `form_submitted` trigger's public intake form at /f/<token>/ (SPEC sections 4, 7, 8)."""

import re

import pytest
from django.test import Client

from workflows import services
from workflows.models import WorkflowRun
from workflows.triggers.form import intake_limiter
from workflows.validation import validate

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

PASS = step("got", "filter", {"when": {"all": []}})
FIELDS = [
    {"name": "email", "label": "Email", "type": "text", "required": True},
    {"name": "seats", "label": "Seats", "type": "number"},
    {"name": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]},
    {"name": "newsletter", "label": "Newsletter", "type": "boolean"},
]


@pytest.fixture(autouse=True)
def _fresh_limiter():
    intake_limiter.reset()


def intake_trigger(**settings):
    return {
        "type": "form_submitted",
        "settings": {
            "title": "Request a demo",
            "description": "Tell us about your team.",
            "fields": FIELDS,
            "submit_label": "Send",
            "thank_you": "Thanks, we will call you within a day.",
            **settings,
        },
    }


def intake_workflow(workspace):
    return published(workspace, graph(PASS, trigger=intake_trigger()), name="Demo requests")


def url(workflow) -> str:
    return f"/f/{workflow.webhook_token}/"


def csrf_client_and_token(workflow):
    client = Client(enforce_csrf_checks=True)
    page = client.get(url(workflow))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client, token


def test_the_form_shows_its_fields_without_login(client, workspace):
    page = client.get(url(intake_workflow(workspace)))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Request a demo" in html and "Tell us about your team." in html
    for name in ("email", "seats", "plan", "newsletter"):
        assert f'name="{name}"' in html
    assert ">Send</button>" in html
    assert 'href="/static/app/app.css"' in html or "app.css" in html


def test_a_good_submission_starts_a_run_with_typed_values_and_shows_the_thank_you(workspace):
    workflow = intake_workflow(workspace)
    client, token = csrf_client_and_token(workflow)
    response = client.post(
        url(workflow),
        {
            "csrfmiddlewaretoken": token,
            "email": "ada@x.io",
            "seats": "12",
            "plan": "pro",
            "newsletter": "on",
        },
    )
    assert response.status_code == 200
    assert "Thanks, we will call you within a day." in response.content.decode()
    (run,) = WorkflowRun.objects.filter(workflow=workflow)
    assert run.source == WorkflowRun.Source.TRIGGER
    assert run.trigger_payload["values"] == {
        "email": "ada@x.io",
        "seats": 12,
        "plan": "pro",
        "newsletter": True,
    }
    assert run.trigger_payload["submitted_at"]


def test_bad_values_show_inline_errors_keep_the_answers_and_start_no_run(workspace):
    workflow = intake_workflow(workspace)
    client, token = csrf_client_and_token(workflow)
    response = client.post(
        url(workflow), {"csrfmiddlewaretoken": token, "email": "", "seats": "many", "plan": "gold"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "This field is required." in html and "Enter a number." in html and "Choose one of" in html
    )
    assert 'value="many"' in html and 'aria-invalid="true"' in html
    assert not WorkflowRun.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(workspace):
    workflow = intake_workflow(workspace)
    response = Client(enforce_csrf_checks=True).post(url(workflow), {"email": "a@x.io"})
    assert response.status_code == 403
    assert not WorkflowRun.objects.exists()


def test_submissions_over_the_per_address_limit_answer_429(client, workspace, settings):
    settings.WORKFLOW_FORM_RATE_LIMIT = 2
    workflow = intake_workflow(workspace)
    statuses = [client.post(url(workflow), {"email": "a@x.io"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    other = client.post(url(workflow), {"email": "a@x.io"}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200
    assert WorkflowRun.objects.count() == 3


def test_an_unknown_token_or_inactive_workflow_answers_404(client, workspace):
    workflow = intake_workflow(workspace)
    assert client.get("/f/nope/").status_code == 404
    services.deactivate(workflow)
    assert client.get(url(workflow)).status_code == 404


def test_the_workflow_api_gives_the_form_url_and_rotating_the_token_moves_it(
    client, workspace, api
):
    workflow = intake_workflow(workspace)
    data = api.get(f"/api/v1/workflows/{workflow.pk}/").json()
    assert data["form_url"] == f"http://testserver/f/{workflow.webhook_token}/"
    assert data["webhook_url"] is None
    rotated = api.post(f"/api/v1/workflows/{workflow.pk}/rotate-token/").json()
    assert rotated["form_url"] != data["form_url"]
    assert client.get(url(workflow)).status_code == 404
    assert client.get(rotated["form_url"].removeprefix("http://testserver")).status_code == 200


def test_a_public_form_cannot_pick_records():
    trigger = intake_trigger(fields=[{"name": "who", "type": "record", "object": "person"}])
    problems = validate(graph(PASS, trigger=trigger))
    assert any("cannot pick records" in p.message for p in problems), problems


def test_a_form_without_fields_is_a_validation_problem():
    problems = validate(graph(PASS, trigger=intake_trigger(fields=[])))
    assert any("fields is required" in p.message for p in problems), problems
