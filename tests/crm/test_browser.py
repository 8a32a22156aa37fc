"""The record pages in a real browser (Debian's chromium driven by Playwright): login, live
search, the HTMX "add note" form and inline form errors. Screenshots go to /tmp/screens/."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from crm.models import Company, Note, Opportunity, Person  # noqa: E402
from tests.conftest import make_user, make_workspace  # noqa: E402

SCREENS = Path("/tmp/screens")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "browser-pw"


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
    # the test's own database queries as "called from an async context". Only while these
    # tests run, so other modules keep Django's check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # Never let Playwright download a browser: it drives the system's chromium.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def logged_in_page(browser, live_server):
    """A browser tab of a workspace member, logged in through the login form."""
    workspace = make_workspace("acme", "Acme")
    make_user("ada@example.com", workspace=workspace, password=PASSWORD)
    for name, city in [("Northwind Analytics", "Lyon"), ("Bluebird Logistics", "Paris")]:
        Company.objects.create(
            workspace=workspace,
            name=name,
            city=city,
            domain=name.split()[0].lower() + ".com",
            industry="Software",
        )
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "ada@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


@pytest.mark.django_db(transaction=True)
def test_a_member_finds_a_company_and_adds_a_note_without_a_reload(browser, live_server):
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies").click()
    expect(page.locator("h1")).to_have_text("Companies")
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "companies.png"), full_page=True)

    page.fill("input[name=q]", "north")  # live search: HTMX swaps the table
    expect(page.locator("#list-results")).not_to_contain_text("Bluebird Logistics")
    expect(page).to_have_url(f"{live_server.url}/companies/?q=north")
    page.get_by_role("link", name="Northwind Analytics").click()
    expect(page.locator("h1")).to_have_text("Northwind Analytics")

    page.evaluate("window.stillTheSamePage = true")
    notes = page.locator("#notes-section")
    notes.locator("input[name=title]").fill("Called the CFO")
    notes.locator("textarea[name=body]").fill("Budget approved for Q3.")
    notes.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes-section .timeline")).to_contain_text("Called the CFO")
    expect(page.locator("#toasts")).to_contain_text("Note added.")
    assert page.evaluate("window.stillTheSamePage") is True  # swapped in place, no reload
    assert Note.objects.get().company.name == "Northwind Analytics"
    page.screenshot(path=str(SCREENS / "company_detail.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_person_with_a_bad_email_shows_the_error_next_to_the_field(browser, live_server):
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect

    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.get_by_role("link", name="New person").click()
    page.fill("input[name=first_name]", "Ada")
    page.fill("input[name=email]", "not-an-email")
    page.get_by_role("button", name="Create person").click()

    error = page.locator(".form-field-email .field-error")
    expect(error).to_have_text("Enter a valid email address.")
    expect(page.locator("input[name=first_name]")).to_have_value("Ada")
    assert not Person.objects.exists()
    page.screenshot(path=str(SCREENS / "person_form_error.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_no_page_of_the_navigation_scrolls_sideways(browser, live_server):
    page = logged_in_page(browser, live_server)
    workspace = Company.objects.first().workspace
    for stage in ("new", "qualified", "proposal", "won", "lost"):  # cards in every column
        Opportunity.objects.create(workspace=workspace, name=f"Deal {stage}", stage=stage)
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_server.url}/")
    links = phone.eval_on_selector_all(
        "nav[aria-label=Main] a[href^='/']", "links => links.map(link => link.pathname)"
    )
    assert len(links) >= 12
    for path in [*links, "/opportunities/board/", "/workflows/new/"]:
        phone.goto(f"{live_server.url}{path}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
