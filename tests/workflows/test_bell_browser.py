"""The notifications bell in a real browser: on every page, at laptop and at phone size."""

import pytest

from tests.crm.test_browser import browser  # noqa: F401

from .test_builder_browser import login
from .test_forms_inbox import start_form_run

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_the_bell_shows_its_count_and_opens_at_laptop_and_phone_size(
    browser, live_server, width, height  # noqa: F811
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
