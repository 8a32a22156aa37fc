"""Issue 17 in a real browser (Debian's chromium): times in the browser's own zone, the styled
confirmation instead of the native one, long values that wrap on a phone, and the error pages
at phone size. Screenshots go to /tmp/polish/."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from crm.models import Company  # noqa: E402
from tests.conftest import make_user, make_workspace  # noqa: E402
from tests.crm import test_browser  # noqa: E402

SCREENS = Path("/tmp/polish")
PASSWORD = "polish-pw"
PHONE = {"width": 390, "height": 844}
browser = test_browser.browser  # its module-scoped chromium, as a fixture of this module


def log_in(browser, live_server, zone="Asia/Tokyo", viewport=None):
    workspace = make_workspace("acme", "Acme")
    user = make_user("ada.lovelace@example.com", workspace=workspace, password=PASSWORD)
    user.first_name, user.last_name = "Ada", "Lovelace"
    user.save()
    context = browser.new_context(
        viewport=viewport or {"width": 1440, "height": 900}, timezone_id=zone
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "ada.lovelace@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return workspace, page


@pytest.mark.django_db(transaction=True)
def test_right_after_logging_in_times_are_in_the_browsers_zone(browser, live_server):
    workspace, page = log_in(browser, live_server, zone="Asia/Tokyo")
    company = Company.objects.create(workspace=workspace, name="Northwind")
    moment = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    Company.objects.filter(pk=company.pk).update(created_at=moment, updated_at=moment)
    page.goto(f"{live_server.url}/companies/{company.pk}/")
    meta = page.locator(".meta-list")
    sync_api.expect(meta).to_contain_text("Jan 15, 2026, 18:30")
    page.context.close()


@pytest.mark.django_db(transaction=True)
def test_deleting_a_workflow_asks_in_the_styled_dialog_not_the_browsers(browser, live_server):
    from workflows import services

    workspace, page = log_in(browser, live_server)
    services.create_workflow(workspace, "Old follow-up")
    native = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/workflows/")
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("menuitem", name="Delete").click()
    dialog = page.locator("#confirm-dialog")
    sync_api.expect(dialog).to_be_visible()
    sync_api.expect(dialog).to_contain_text("Delete “Old follow-up” and all its runs?")
    assert native == [], "the browser's own confirm() was shown as well"
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "confirm_delete_workflow.png"))
    dialog.get_by_role("button", name="Delete").click()
    sync_api.expect(page.locator("#workflow-results")).not_to_contain_text("Old follow-up")
    assert native == []
    page.context.close()


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_long_emails_and_urls_wrap_instead_of_widening_the_page(browser, live_server):
    workspace, page = log_in(browser, live_server, viewport=PHONE)
    long_host = "a-very-long-subdomain-name-for-testing.northwind-analytics-international.example"
    company = Company.objects.create(
        workspace=workspace,
        name="Northwind",
        domain=long_host,
        linkedin=f"https://www.linkedin.com/company/{'northwind' * 8}",
        custom={"billing_contact_email": f"{'accounts.payable' * 4}@{long_host}"},
    )
    page.goto(f"{live_server.url}/companies/{company.pk}/")
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "long_values_phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the company page is {width} px wide on a 390 px screen"
    page.context.close()


@pytest.mark.django_db(transaction=True)
def test_the_error_pages_are_branded_and_fit_a_phone(browser, live_server):
    _, page = log_in(browser, live_server, viewport=PHONE)
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response.status == 404
    sync_api.expect(page.locator("h1")).to_have_text("This page does not exist")
    page.screenshot(path=str(SCREENS / "404_phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    from django.template.loader import render_to_string

    page.set_content(
        render_to_string("500.html").replace('href="/static/', f'href="{live_server.url}/static/')
    )
    sync_api.expect(page.locator("h1")).to_have_text("Something went wrong on our side")
    page.screenshot(path=str(SCREENS / "500_phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()
