"""The settings panel in a real browser (Debian's chromium through Playwright), with clicks and
typing only: the variable picker inserts at the cursor, Save stores the draft, the condition
builder adds rows, a changed object redraws the record editor. Screenshots: /tmp/screens/."""

import pytest

from tests.conftest import make_user, make_workspace
from tests.crm.test_browser import PASSWORD, SCREENS, browser  # noqa: F401  (chromium fixture)
from workflows import services
from workflows.models import Workflow

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

GRAPH = {
    "trigger": {
        "type": "webhook",
        "settings": {"method": "POST", "expected_body": {"email": "text"}},
        "next": ["find"],
    },
    "steps": [
        {"id": "find", "name": "Find person", "type": "find_records",
         "settings": {"object": "person", "limit": 1}, "next": ["mail"]},
        {"id": "mail", "name": "Tell sales", "type": "send_email",
         "settings": {"to": "sales@example.com", "subject": "Found "}, "next": []},
    ],
}  # fmt: skip


def open_builder(browser, live_server):  # noqa: F811
    workspace = make_workspace("acme", "Acme")
    owner = make_user("ada@example.com", workspace=workspace, password=PASSWORD)
    workflow = services.create_workflow(workspace, "Lead capture", user=owner)
    services.save_draft(workflow, GRAPH)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "ada@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/workflows/{workflow.pk}/")
    return page, workflow


def open_panel(page, step_id: str):
    page.locator(f'.canvas-card[data-step-id="{step_id}"]').click()
    panel = page.locator(f'.settings-panel[data-panel-step="{step_id}"]')
    expect(panel).to_be_visible()
    return panel


@pytest.mark.django_db(transaction=True)
def test_the_variable_picker_offers_the_find_count_and_inserts_it_at_the_cursor(
    browser,  # noqa: F811
    live_server,
):
    page, workflow = open_builder(browser, live_server)
    panel = open_panel(page, "mail")

    subject = panel.locator('input[name="subject"]')
    subject.click()
    subject.press("End")
    panel.locator('.setting-text:has(input[name="subject"])').get_by_role(
        "button", name="Insert variable"
    ).click()
    picker = panel.get_by_role("dialog", name="Insert variable")
    expect(picker.get_by_role("button", name="steps.find.count", exact=True)).to_be_visible()
    picker.get_by_label("Search variables").fill("first email")
    expect(picker.get_by_role("button", name="steps.find.count", exact=True)).to_be_hidden()
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "panel-variable-picker.png"))
    picker.get_by_role("button", name="steps.find.first.email", exact=True).click()
    expect(subject).to_have_value("Found {{steps.find.first.email}}")
    panel.get_by_role("button", name="Save").click()

    expect(page.locator(".panel-saved")).to_be_visible()
    settings = Workflow.objects.get(pk=workflow.pk).draft.graph["steps"][1]["settings"]
    assert settings["subject"] == "Found {{steps.find.first.email}}"


@pytest.mark.django_db(transaction=True)
def test_conditions_are_added_and_saved_and_the_record_editor_follows_the_object(
    browser,  # noqa: F811
    live_server,
):
    page, workflow = open_builder(browser, live_server)
    panel = open_panel(page, "find")

    panel.get_by_role("button", name="Add condition").click()
    page.locator('select[name="where.all.0.field"]').select_option("email")
    page.locator('select[name="where.all.0.op"]').select_option("eq")
    page.locator('input[name="where.all.0.value"]').fill("{{trigger.body.email}}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".panel-saved")).to_be_visible()
    page.screenshot(path=str(SCREENS / "panel-condition.png"))

    where = Workflow.objects.get(pk=workflow.pk).draft.graph["steps"][0]["settings"]["where"]
    assert where == {"all": [{"field": "email", "op": "eq", "value": "{{trigger.body.email}}"}]}

    page.locator('select[name="object"]').select_option("company")
    expect(page.locator('select[name="where.all.0.field"] option[value="domain"]')).to_have_count(1)
