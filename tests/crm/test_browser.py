"""The record pages in a real browser (Debian's chromium driven by Playwright): login, live
search, the HTMX "add note" form, inline form errors, the Ctrl+K and `/` shortcuts and the
bulk bar on a phone. Screenshots go to /tmp/screens/."""

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


def add_people(workspace, *names):
    return [
        Person.objects.create(workspace=workspace, first_name=first, last_name=last)
        for first, last in (name.split() for name in names)
    ]


@pytest.mark.django_db(transaction=True)
def test_ctrl_k_finds_a_person_and_enter_opens_their_page(browser, live_server):
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    workspace = Company.objects.first().workspace
    (grace,) = add_people(workspace, "Grace Hopper")

    page.goto(f"{live_server.url}/companies/")  # any page: the dialog is in the layout
    page.keyboard.press("Control+K")
    dialog = page.locator("#search-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-search-input]")).to_be_focused()
    page.keyboard.type("hopp")
    result = dialog.locator(".search-result", has_text="Grace Hopper")
    expect(result).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Grace Hopper")
    assert str(grace.pk) in page.url


@pytest.mark.django_db(transaction=True)
def test_slash_focuses_the_list_search_but_not_while_typing_in_a_field(browser, live_server):
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    page.goto(f"{live_server.url}/people/")
    box = page.locator("#list-filters input[type=search]")
    expect(box).not_to_be_focused()

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(box).to_be_focused()
    expect(box).to_have_value("")  # the key focused the box, it did not type a slash

    # Inside a field "/" is just a character: it stays in the search box's text...
    page.keyboard.type("a/b")
    expect(box).to_have_value("a/b")
    # ...and does not pull the focus out of another field (the company filter here).
    company_filter = page.locator("#list-filters select").first
    company_filter.focus()
    page.keyboard.press("/")
    expect(company_filter).to_be_focused()
    expect(box).not_to_be_focused()


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_bulk_bar_actions_are_clickable_and_delete_works(browser, live_server):
    from workflows.models import Workflow, WorkflowVersion

    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    workspace = Company.objects.first().workspace
    people = add_people(workspace, "Grace Hopper", "Alan Turing", "Edsger Dijkstra")
    workflow = Workflow.objects.create(
        workspace=workspace, name="Welcome email", status=Workflow.Status.ACTIVE
    )
    WorkflowVersion.objects.create(
        workflow=workflow, number=1, status=WorkflowVersion.Status.ACTIVE,
        graph={"trigger": {"type": "manual", "settings": {"object": "person"}}, "steps": []},
    )  # fmt: skip
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/people/")
    bar = page.locator("[data-bulk-bar]")

    for person in people[:2]:
        page.check(f"input[name=record_ids][value='{person.pk}']")
    expect(bar).to_be_visible()
    expect(bar.locator("[data-selected-count]")).to_have_text("2")
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "bulk_bar_phone.png"))

    run = bar.locator("summary", has_text="Run workflow")
    delete = bar.get_by_role("button", name="Delete")
    for action in (run, delete):
        action.scroll_into_view_if_needed()
        box = action.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844, box
        hit = page.evaluate(
            "([x, y, el]) => el.contains(document.elementFromPoint(x, y))",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, action.element_handle()],
        )
        assert hit, f"{action} is covered at its center"
    run.click(trial=True)  # Playwright refuses if another element would get the click

    delete.click()
    page.get_by_role("button", name="Delete").click()  # the confirmation page
    expect(page).to_have_url(f"{live_server.url}/people/")
    expect(page.locator("#list-results")).to_contain_text("Edsger Dijkstra")
    expect(page.locator("#list-results")).not_to_contain_text("Grace Hopper")
    expect(page.locator("#list-results")).not_to_contain_text("Alan Turing")
    assert list(Person.objects.values_list("first_name", flat=True)) == ["Edsger"]
