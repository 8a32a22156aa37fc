"""The workflows list in a real browser: its "⋯" row menus at laptop and phone size."""

import pytest

from tests.crm.test_browser import browser  # noqa: F401
from workflows import services

from .helpers import graph, step
from .test_builder_browser import login

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_a_rows_actions_menu_is_drawn_whole_over_the_table(browser, live_server, width, height):  # noqa: F811
    # The menu hung inside the table's scrolling card, which cut it off: on a phone only a
    # sliver of it showed, and on the last row its items fell outside the card.
    page, workspace = login(browser, live_server)
    page.set_viewport_size({"width": width, "height": height})
    for name in ("First", "Last"):
        services.create_workflow(workspace, name, graph=graph(step("a", "delay")))
    page.goto(f"{live_server.url}/workflows/")
    page.get_by_role("button", name="Actions").last.click()
    for item in ("Edit", "Duplicate", "Delete"):
        entry = page.get_by_role("menuitem", name=item)
        sync_api.expect(entry).to_be_visible()
        box = entry.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        hit = page.evaluate(
            f"document.elementFromPoint({x}, {y})?.closest('[role=menuitem]')?.textContent"
        )
        assert hit and item in hit, f"{item} is covered or clipped at {width}px"
