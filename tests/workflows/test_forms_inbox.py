"""The forms inbox (SPEC section 8): typed inputs for every field type, inline errors, and
the card the page fetches when a form appears live."""

import pytest
from django.test import Client

from crm.models import Role
from tests.conftest import make_user
from workflows import queue
from workflows.models import FormRequest

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

ALL_FIELDS = [
    {"name": "notes", "label": "Notes", "type": "textarea", "default": "so far"},
    {"name": "budget", "label": "Budget", "type": "number", "required": True, "default": 100},
    {"name": "due", "label": "Due", "type": "date", "default": "2026-12-24"},
    {"name": "fit", "label": "Fit", "type": "select", "default": "good",
     "options": ["good", {"value": "bad", "label": "Not a fit"}]},
    {"name": "ok", "label": "OK", "type": "boolean", "default": True},
    {"name": "company", "label": "Company", "type": "record", "object": "company"},
    {"name": "name", "label": "Name", "type": "text", "placeholder": "Ada", "default": "Ada L."},
]  # fmt: skip


def start_form_run(workspace, title="Qualify", fields=None, assignee=""):
    form_step = step(
        "ask",
        "form",
        {"title": title, "fields": fields or ALL_FIELDS[:2], "assignee": assignee},
    )
    workflow = published(workspace, graph(form_step))
    run = queue.start_run(workflow.active_version, {}, "manual")
    run.refresh_from_db()
    return run


def browser_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_every_field_type_has_its_typed_input_with_the_default_prefilled(workspace, owner):
    start_form_run(workspace, fields=ALL_FIELDS)
    html = browser_for(owner).get("/forms/").content.decode()
    assert '<textarea class="input" name="notes"' in html and ">so far</textarea>" in html
    assert 'type="number" step="any" name="budget" value="100"' in html
    assert 'type="date" name="due" value="2026-12-24"' in html
    assert '<option value="good" selected>good</option>' in html
    assert '<option value="bad">Not a fit</option>' in html
    assert 'type="checkbox" class="checkbox" name="ok" checked' in html
    assert 'data-record-picker="/api/v1/companies/"' in html and 'name="company"' in html
    assert 'name="name" value="Ada L." placeholder="Ada"' in html


def test_a_wrong_value_shows_inline_errors_and_keeps_what_was_typed(workspace, owner):
    run = start_form_run(workspace, fields=ALL_FIELDS)
    form = FormRequest.objects.get()
    answer = browser_for(owner).post(
        f"/forms/{form.pk}/submit/",
        {"budget": "lots", "fit": "maybe", "company": "not-a-record", "name": "Grace"},
        HTTP_HX_REQUEST="true",
    )
    html = answer.content.decode()
    assert "Enter a number." in html and "Choose one of: good, Not a fit." in html
    assert "Choose a company of this workspace." in html
    assert 'name="name" value="Grace"' in html
    run.refresh_from_db()
    assert run.status == "waiting"


def test_the_card_of_a_new_form_is_served_to_those_who_may_fill_it_only(workspace, owner):
    member = make_user("member@example.com", workspace, Role.MEMBER)
    start_form_run(workspace, assignee="owner@example.com")
    form = FormRequest.objects.get()
    card = browser_for(owner).get(f"/forms/{form.pk}/card/")
    assert card.status_code == 200
    assert f'id="form-{form.pk}"' in card.content.decode()
    assert browser_for(member).get(f"/forms/{form.pk}/card/").status_code == 404


def test_the_inbox_is_marked_for_live_updates(workspace, owner):
    html = browser_for(owner).get("/forms/").content.decode()
    assert "data-form-inbox" in html and "data-form-empty" in html
