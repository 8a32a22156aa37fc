"""Floating panels in a real browser: the notifications bell on every page, at laptop and phone
size, and the record page's Run workflow menu inside a phone screen."""

import pytest

from tests.crm.test_browser import browser  # noqa: F401

from .test_builder_browser import login
from .test_forms_inbox import start_form_run

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_the_bell_shows_its_count_and_opens_at_laptop_and_phone_size(
    browser,  # noqa: F811
    live_server,
    width,
    height,
):
    # The bell lived only in the phone's top bar, which is display: none above 900 px.
    page, workspace = login(browser, live_server)
    page.set_viewport_size({"width": width, "height": height})
    start_form_run(workspace, title="Qualify Ada")
    page.goto(f"{live_server.url}/people/")
    bell = page.get_by_role("button", name="Notifications (1 unread)")
    sync_api.expect(bell).to_be_visible()
    bell.click()
    panel = page.get_by_role("region", name="Notifications")
    sync_api.expect(panel).to_contain_text("Qualify Ada")
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.django_db(transaction=True)
def test_a_record_pages_run_workflow_menu_opens_inside_a_phone_screen(browser, live_server):  # noqa: F811
    # The menu hangs from its button's right edge; on a phone that button sits at the left, so
    # the menu ran off the screen and its workflows' names were cut ("lify lead by form").
    from .helpers import graph, person, published, step

    page, workspace = login(browser, live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    trigger = {"type": "manual", "settings": {"object": "person"}}
    published(
        workspace,
        graph(step("a", "filter", {"when": {"all": []}}), trigger=trigger),
        name="Qualify lead by form",
    )
    ada = person(workspace, last_name="Lovelace")
    page.goto(f"{live_server.url}/people/{ada.pk}/")
    page.locator("[data-record-workflows] > summary").click()
    menu = page.get_by_role("menu", name="Run workflow")
    sync_api.expect(menu).to_be_visible()
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
