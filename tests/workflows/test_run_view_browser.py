"""The run view's canvas in a real browser (Debian's chromium through Playwright): the branch
taken, live step events repainting it, the iteration selector, a card's details. Screenshots
go to /tmp/runview/."""

from pathlib import Path

import pytest

from tests.crm.test_browser import browser  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api")

from .helpers import run_workflow  # noqa: E402
from .test_builder_browser import SHOWCASE, login  # noqa: E402
from .test_run_view_canvas import LOOPING  # noqa: E402

SCREENS = Path("/tmp/runview")


def shot(page, name: str) -> None:
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / name))


def edge(page, source: str, branch: str):
    """The edge leaving `source` into `branch` (its rule is JSON in data-edge)."""
    return page.locator(
        f'path[data-edge*=\'"from": "{source}", "branch": "{branch}", "to": ""\']'
    ).first


@pytest.mark.django_db(transaction=True)
def test_a_run_of_an_if_else_shows_the_branch_taken_and_follows_live_events(
    browser,  # noqa: F811
    live_server,
):
    page, workspace = login(browser, live_server)
    expect = sync_api.expect
    run = run_workflow(
        workspace, SHOWCASE, {"body": {"email": "jo@example.com", "interests": ["crm", "api"]}}
    )
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    # Nobody is known: the run went along "else" (Create person), not "known".
    expect(edge(page, "known", "else")).to_have_class("edge edge-edge edge-taken")
    expect(edge(page, "known", "known")).to_have_class("edge edge-edge edge-untaken")
    into_each = page.locator('path[data-edge*=\'"to": "each"\']')
    expect(into_each.locator("xpath=self::*[contains(@class, 'edge-taken')]")).not_to_have_count(0)
    page.locator(".run-viewport").scroll_into_view_if_needed()
    shot(page, "run-if-else.png")

    # A live step event (as live.js hands it over) saying the other branch was chosen.
    page.evaluate(
        """() => document.dispatchEvent(new CustomEvent("live:step", {cancelable: true, detail: {
            step_id: "known", scope: "", status: "succeeded", step_type: "if_else",
            output: {branch: "known"}}}))"""
    )
    expect(edge(page, "known", "known")).to_have_class("edge edge-edge edge-taken")
    expect(edge(page, "known", "else")).to_have_class("edge edge-edge edge-untaken")


@pytest.mark.django_db(transaction=True)
def test_the_iteration_selector_switches_a_body_cards_status(browser, live_server):  # noqa: F811
    page, workspace = login(browser, live_server)
    expect = sync_api.expect
    run = run_workflow(workspace, LOOPING, {"payload": {"items": ["a", "b", "c"]}})
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    check = page.locator('.canvas-card[data-step-id="check"]')
    mark = page.locator('.canvas-card[data-step-id="mark"]')
    expect(check).to_have_attribute("data-status", "succeeded")  # "All": the worst of them
    iteration = page.get_by_label("Iteration", exact=True)
    iteration.select_option(label="Item 0")  # items count from 0, like `index`
    expect(check).to_have_attribute("data-status", "skipped")
    expect(mark).to_have_attribute("data-status", "not_run")
    page.locator(".run-viewport").scroll_into_view_if_needed()
    shot(page, "run-iteration-1.png")
    iteration.select_option(label="Item 1")
    expect(check).to_have_attribute("data-status", "succeeded")
    expect(mark).to_have_attribute("data-status", "succeeded")
    # Clicking a card shows that item's step run in the side panel; another item follows.
    page.get_by_role("button", name="Check", exact=True).click()
    panel = page.locator("#builder-panel")
    expect(panel.locator(".run-detail")).to_have_count(1)
    expect(panel.locator('.run-detail[data-scope="1"]')).to_contain_text("Succeeded")
    shot(page, "run-iteration-2.png")
    iteration.select_option(label="Item 2")
    expect(panel.locator('.run-detail[data-scope="2"]')).to_contain_text("Skipped")

    # A live event about an item not seen yet adds it to the selector.
    page.evaluate(
        """() => document.dispatchEvent(new CustomEvent("live:step", {cancelable: true, detail: {
            step_id: "check", scope: "3", status: "failed", step_type: "filter", output: {}}}))"""
    )
    expect(check).to_have_attribute("data-status", "skipped")  # still showing item 2
    iteration.select_option(label="Item 3")
    expect(check).to_have_attribute("data-status", "failed")


@pytest.mark.django_db(transaction=True)
def test_a_published_versions_card_shows_its_settings_read_only(browser, live_server):  # noqa: F811
    from workflows.models import Workflow

    page, workspace = login(browser, live_server)
    expect = sync_api.expect
    run = run_workflow(workspace, LOOPING, {"payload": {"items": []}})
    workflow = Workflow.objects.get(pk=run.workflow_id)
    page.goto(f"{live_server.url}/workflows/{workflow.pk}/?tab=versions")
    page.get_by_role("link", name="View").first.click()
    page.get_by_role("button", name="Check", exact=True).click()
    panel = page.locator("#builder-panel")
    expect(panel.locator("input[name='name']")).to_have_value("Check")
    expect(panel.locator("input[name='name']")).not_to_be_editable()
    expect(panel.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    expect(panel).to_contain_text("published version")
    shot(page, "version-read-only.png")
    workflow.refresh_from_db()
    assert workflow.draft is None  # looking made no draft
