"""In a real browser (Debian's chromium through Playwright): the public intake form (fill,
submit, thank-you, run started), the opportunities board (drag a card, the stage changes)
and the workflows list's Actions menu. Screenshots go to /tmp/screens/."""

import pytest

from tests.conftest import make_workspace
from tests.crm.test_browser import SCREENS, logged_in_page, sync_api
from tests.crm.test_browser import browser as chromium  # noqa: F401  (its browser fixture)
from workflows.models import WorkflowRun

from .helpers import graph, published, step

PASS = step("got", "filter", {"when": {"all": []}})


@pytest.mark.django_db(transaction=True)
def test_a_visitor_fills_the_public_form_and_a_run_starts(chromium, live_server):  # noqa: F811
    workspace = make_workspace("intake", "Intake Co")
    trigger = {
        "type": "form_submitted",
        "settings": {
            "title": "Request a demo",
            "fields": [
                {"name": "email", "label": "Email", "type": "text", "required": True},
                {"name": "seats", "label": "Seats", "type": "number"},
            ],
            "submit_label": "Send",
            "thank_you": "Thanks, we will call you.",
        },
    }
    workflow = published(workspace, graph(PASS, trigger=trigger))
    expect = sync_api.expect
    page = chromium.new_page(viewport={"width": 390, "height": 800})  # a phone, no login
    page.goto(f"{live_server.url}/f/{workflow.webhook_token}/")
    expect(page.locator("h1")).to_have_text("Request a demo")
    page.get_by_label("Seats").fill("3")
    page.get_by_role("button", name="Send").click()  # no email: an inline error
    expect(page.locator("#field-email-error")).to_have_text("This field is required.")
    expect(page.get_by_label("Seats")).to_have_value("3")
    assert not WorkflowRun.objects.exists()
    page.get_by_label("Email").fill("ada@x.io")
    page.get_by_label("Seats").fill("12")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thanks, we will call you.")
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "intake_form.png"), full_page=True)
    (run,) = WorkflowRun.objects.filter(workflow=workflow)
    assert run.trigger_payload["values"] == {"email": "ada@x.io", "seats": 12}
    page.close()


@pytest.mark.django_db(transaction=True)
def test_dragging_a_card_on_the_board_changes_its_stage(chromium, live_server):  # noqa: F811
    from crm.models import Opportunity, Workspace

    page = logged_in_page(chromium, live_server)
    expect = sync_api.expect
    workspace = Workspace.objects.get(slug="acme")
    deal = Opportunity.objects.create(workspace=workspace, name="Big deal", stage="new")
    page.goto(f"{live_server.url}/opportunities/")
    page.get_by_role("link", name="Board").click()
    expect(page.get_by_role("heading", name="Proposal")).to_be_visible()
    card = page.locator(f'.board-card[data-id="{deal.pk}"]')
    card.drag_to(
        page.locator('.board-column[data-stage="proposal"]'), source_position={"x": 4, "y": 4}
    )
    expect(page.locator('.board-column[data-stage="proposal"]')).to_contain_text("Big deal")
    expect(page.locator("[data-board-status]")).to_contain_text("moved to Proposal")
    deal.refresh_from_db()
    assert deal.stage == "proposal"
    page.set_viewport_size({"width": 390, "height": 800})
    scrolls = page.evaluate(
        "(() => { const b = document.querySelector('[data-board]'); return b.scrollWidth > b.clientWidth; })()"
    )
    assert scrolls  # on a phone the columns scroll sideways
    page.screenshot(path=str(SCREENS / "board_phone.png"), full_page=True)
    page.close()


@pytest.mark.django_db(transaction=True)
def test_the_workflow_row_menu_opens_with_its_actions(chromium, live_server):  # noqa: F811
    from crm.models import Workspace

    page = logged_in_page(chromium, live_server)
    expect = sync_api.expect
    published(Workspace.objects.get(slug="acme"), graph(PASS), name="Lead capture")
    page.goto(f"{live_server.url}/workflows/")
    button = page.get_by_role("button", name="Actions")
    expect(button).to_have_attribute("aria-haspopup", "menu")
    button.click()
    menu = page.get_by_role("menu")
    for name in ("Edit", "Deactivate", "Duplicate", "Delete"):
        expect(menu.get_by_role("menuitem", name=name)).to_be_visible()
    page.get_by_text("Columns").click()
    page.get_by_role("checkbox", name="Trigger").uncheck()
    expect(page.locator("th.col-trigger")).to_be_hidden()
    page.close()
