"""The "New workflow" page in a real browser (Debian's chromium driven by Playwright): the
blank form of SPEC 8.1 (Name, Create), the gallery's live search, and "Use template" opening
the builder on the copy. The screenshot (in /tmp/screens/) is the one in docs/gallery.png."""

import re

import pytest

from tests.conftest import make_user, make_workspace
from tests.crm.test_browser import CHROMIUM_ARGS, PASSWORD, SCREENS, browser  # noqa: F401
from workflows.models import Workflow

sync_api = pytest.importorskip("playwright.sync_api")


def owner_page(browser, live_server):  # noqa: F811
    workspace = make_workspace("acme", "Acme")
    make_user("ada@example.com", workspace=workspace, password=PASSWORD)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "ada@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/workflows/")
    page.get_by_role("link", name="New workflow").click()
    sync_api.expect(page.locator("h1")).to_have_text("New workflow")
    return page


@pytest.mark.django_db(transaction=True)
def test_use_template_opens_the_builder_on_a_copy(browser, live_server):  # noqa: F811
    page = owner_page(browser, live_server)
    expect = sync_api.expect
    expect(page.locator(".gallery-template")).to_have_count(16)
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "gallery.png"), full_page=True)

    page.get_by_label("Search templates").fill("invoice won")  # HTMX swaps the results
    expect(page.locator(".gallery-template")).to_have_count(1)
    expect(page.locator(".gallery-template")).to_contain_text("Create the invoice")
    page.get_by_role("button", name="Use template").click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}/$"))
    workflow = Workflow.objects.get()
    assert workflow.name == "Won opportunity to invoice"
    assert page.url.endswith(f"/workflows/{workflow.pk}/")
    expect(page.locator('[data-step-id="invoice"]')).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_name_and_create_make_a_blank_workflow(browser, live_server):  # noqa: F811
    page = owner_page(browser, live_server)
    page.get_by_label("Name", exact=True).fill("Onboarding")
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}/$"))
    assert Workflow.objects.get().name == "Onboarding"
    sync_api.expect(page.get_by_role("button", name="Choose a trigger")).to_be_visible()
