"""The forms inbox as drawn by a real browser: what shows and where, which HTML tests miss."""

import pytest

from tests.crm.test_browser import browser  # noqa: F401

from .test_builder_browser import login
from .test_forms_inbox import start_form_run

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.mark.django_db(transaction=True)
def test_with_a_form_waiting_the_inbox_hides_nothing_to_fill_in(browser, live_server):  # noqa: F811
    # `.empty-state { display: flex }` outranked the `hidden` attribute the page and live.js set.
    page, workspace = login(browser, live_server)
    start_form_run(workspace, title="Qualify Ada")
    page.goto(f"{live_server.url}/forms/")
    sync_api.expect(page.locator("form[data-form-id]")).to_contain_text("Qualify Ada")
    sync_api.expect(page.get_by_text("Nothing to fill in")).to_be_hidden()


@pytest.mark.django_db(transaction=True)
def test_a_form_cards_submit_bar_stays_inside_the_card(browser, live_server):  # noqa: F811
    page, workspace = login(browser, live_server)
    start_form_run(workspace, title="Qualify Ada")
    page.goto(f"{live_server.url}/forms/")
    card = page.locator("form[data-form-id]").bounding_box()
    bar = page.locator("form[data-form-id] .form-actions").bounding_box()
    assert card["x"] <= bar["x"] and bar["x"] + bar["width"] <= card["x"] + card["width"]
