"""The run view's canvas (SPEC 8, "Run view"): the branch taken highlighted up to where the
branches merge, the untaken one dimmed; iterations; the details of a step run."""

import html as html_lib
import json
import re

import pytest
from django.test import Client

from .helpers import graph, run_workflow, step

pytestmark = pytest.mark.django_db

ALWAYS = {"all": [{"left": "1", "op": "eq", "right": "1"}]}
PASS = {"when": {"all": []}}

# known? -> yes: touch / else: skip; both lanes merge at "after".
MERGING = graph(
    step(
        "known",
        "if_else",
        {"branches": [{"name": "yes", "when": ALWAYS, "next": ["touch"]}], "else_next": ["skip"]},
    ),
    step("touch", "filter", PASS, next=["after"]),
    step("skip", "filter", PASS, next=["after"]),
    step("after", "filter", PASS),
)  # fmt: skip


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


def edges(page: str) -> list[tuple[set[str], dict]]:
    """(classes, rule) of every edge the run view draws."""
    found = re.findall(r'<path class="([^"]*)" d="[^"]*"[^>]*?data-edge="([^"]*)"', page)
    return [(set(classes.split()), json.loads(html_lib.unescape(rule))) for classes, rule in found]


def states(page: str, **match) -> set[str]:
    """The states of the edges whose rule has these values."""
    picked = set()
    for classes, rule in edges(page):
        if all(rule.get(key) == value for key, value in match.items()):
            state = {"edge-taken": "taken", "edge-untaken": "untaken"}
            picked |= {state[c] for c in classes if c in state} or {"plain"}
    return picked


def test_the_branch_taken_is_highlighted_and_the_other_dimmed(browser, workspace):
    run = run_workflow(workspace, MERGING)
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    assert states(page, **{"from": "known", "branch": "yes"}) == {"taken"}
    assert states(page, **{"from": "known", "branch": "else"}) == {"untaken"}
    assert states(page, **{"from": "trigger", "to": "known"}) == {"taken"}


def test_the_merge_edges_after_an_if_else_follow_the_branch_taken(browser, workspace):
    run = run_workflow(workspace, MERGING)
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    into_merge = [(c, r) for c, r in edges(page) if r["to"] == "after"]
    taken = [r for c, r in into_merge if "edge-taken" in c]
    dimmed = [r for c, r in into_merge if "edge-untaken" in c]
    assert taken and all(r["guards"] in ([], [["known", "yes"]]) for r in taken)
    assert dimmed and all(r["guards"] == [["known", "else"]] for r in dimmed)
    # Every edge into the merge is either taken or dimmed: none is left plain.
    assert len(taken) + len(dimmed) == len(into_merge)
    assert states(page, **{"from": "skip"}) <= {"untaken", "plain"}


def test_the_builder_canvas_carries_no_run_state(browser, workspace):
    run = run_workflow(workspace, MERGING)
    page = browser.get(f"/workflows/{run.workflow_id}/").content.decode()
    assert "data-edge=" not in page and "edge-taken" not in page


def test_every_edge_of_an_if_else_run_says_which_steps_it_joins(browser, workspace):
    run = run_workflow(workspace, MERGING)
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    rules = [rule for _, rule in edges(page)]
    assert rules and all(rule["from"] or rule["to"] for rule in rules)


LOOPING = graph(
    step("each", "iterator", {"items": "{{trigger.payload.items}}", "loop": ["check"]}),
    step(
        "check",
        "filter",
        {"when": {"all": [{"left": "{{steps.each.item}}", "op": "eq", "right": "b"}]}},
        next=["mark"],
    ),
    step("mark", "filter", PASS),
)


def card_tag(page: str, step_id: str) -> str:
    return re.search(rf'<button[^>]*data-step-id="{step_id}"[^>]*>', page).group(0)


def test_an_iterator_offers_one_iteration_per_item_and_body_cards_carry_each(browser, workspace):
    run = run_workflow(workspace, LOOPING, {"payload": {"items": ["a", "b", "c"]}})
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    select = re.search(r">Iteration</label>\s*<select[^>]*>(.*?)</select>", page, re.S)
    assert select, "the iterator has no Iteration select"
    assert 'data-iteration-of="each"' in page
    assert re.findall(r">([^<]+)</option>", select.group(1)) == [
        "All",
        "Item 0",
        "Item 1",
        "Item 2",
    ]
    check = card_tag(page, "check")
    runs = json.loads(html_lib.unescape(re.search(r'data-runs="([^"]*)"', check).group(1)))
    assert {scope: state[0] for scope, state in runs.items()} == {
        "0": "skipped", "1": "succeeded", "2": "skipped"
    }  # fmt: skip
    assert json.loads(html_lib.unescape(re.search(r'data-loops="([^"]*)"', check).group(1))) == [
        "each"
    ]
    # With "All" chosen, a card shows the worst of its items.
    assert 'data-status="succeeded"' in check
    assert 'data-status="succeeded"' in card_tag(page, "mark")


# --- a card's details in the side panel ----------------------------------------------------

FAILING = graph(
    step(
        "note",
        "create_record",
        {"object": "task", "values": {"title": "About {{trigger.payload.nobody}}"}},
        next=["each"],
    ),
    step("each", "iterator", {"items": "{{trigger.payload.count}}", "loop": ["inner"]}),
    step("inner", "filter", PASS),
)


def test_run_view_cards_open_their_details_in_the_side_panel(browser, workspace):
    run = run_workflow(workspace, LOOPING, {"payload": {"items": ["a", "b"]}})
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    assert f'hx-get="/runs/{run.pk}/steps/check/"' in card_tag(page, "check")
    assert 'id="builder-panel"' in page
    assert "/panel/" not in page and "draggable" not in page  # nothing to edit here


def test_the_details_show_the_chosen_iterations_input_and_output(browser, workspace):
    run = run_workflow(workspace, LOOPING, {"payload": {"items": ["a", "b"]}})
    chosen = browser.get(f"/runs/{run.pk}/steps/check/", {"scope": "1"}).content.decode()
    assert chosen.count('class="run-detail"') == 1
    assert 'data-scope="1"' in chosen and "Succeeded" in chosen
    assert "<h3>Input</h3>" in chosen and "<h3>Output</h3>" in chosen
    every = browser.get(f"/runs/{run.pk}/steps/check/", {"scope": "*"}).content.decode()
    assert 'data-scope="0"' in every and 'data-scope="1"' in every
    none = browser.get(f"/runs/{run.pk}/steps/mark/", {"scope": "0"}).content.decode()
    assert "did not run in the chosen iteration" in none


def test_the_details_of_a_step_run_for_many_items_load_only_the_rows_they_show(
    browser, workspace, monkeypatch
):
    from workflows.builder.views import MAX_DETAILS
    from workflows.models import StepRun

    items = MAX_DETAILS + 15
    run = run_workflow(workspace, LOOPING, {"payload": {"items": list(range(items))}})
    loaded = []
    from_db = StepRun.from_db.__func__
    monkeypatch.setattr(
        StepRun, "from_db", classmethod(lambda cls, *a: loaded.append(1) or from_db(cls, *a))
    )
    page = browser.get(f"/runs/{run.pk}/steps/check/", {"scope": "*"}).content.decode()
    assert page.count('class="run-detail"') == MAX_DETAILS
    assert "And 15 more" in page
    # Each item's input and output may be large: those of the rows not shown stay unread.
    assert len(loaded) == MAX_DETAILS


def test_the_details_show_the_error_and_the_missing_templates(browser, workspace):
    run = run_workflow(workspace, FAILING, {"payload": {"count": 3}})
    note = browser.get(f"/runs/{run.pk}/steps/note/").content.decode()
    assert "Missing templates" in note and "trigger.payload.nobody" in note
    each = browser.get(f"/runs/{run.pk}/steps/each/").content.decode()
    assert "<h3>Error</h3>" in each and "items must be a list" in each


def test_bad_details_requests_answer_4xx(browser, workspace, owner):
    run = run_workflow(workspace, LOOPING, {"payload": {"items": ["a"]}})
    assert browser.get(f"/runs/{run.pk}/steps/check/", {"scope": "x.1"}).status_code == 400
    assert browser.get(f"/runs/{run.pk}/steps/nothing/").status_code == 404
    from tests.conftest import make_user, make_workspace

    stranger = Client()
    stranger.force_login(make_user("x@example.com", make_workspace("other")))
    assert stranger.get(f"/runs/{run.pk}/steps/check/").status_code == 404


def test_a_published_versions_cards_show_its_settings_read_only_without_a_draft(browser, workspace):
    from workflows.models import Workflow

    run = run_workflow(workspace, LOOPING, {"payload": {"items": []}})
    workflow = Workflow.objects.get(pk=run.workflow_id)
    assert workflow.draft is None
    page = browser.get(f"/workflows/{workflow.pk}/", {"tab": "builder", "version": "1"})
    tag = card_tag(page.content.decode(), "check")
    assert f'hx-get="/workflows/{workflow.pk}/builder/steps/check/panel/?version=1"' in tag
    panel = browser.get(f"/workflows/{workflow.pk}/builder/steps/check/panel/", {"version": "1"})
    html = panel.content.decode()
    assert panel.status_code == 200 and "steps.each.item" in html
    assert '<fieldset class="panel-settings" disabled>' in html and ">Save<" not in html
    workflow.refresh_from_db()
    assert workflow.draft is None  # looking made no draft
    missing = browser.get(f"/workflows/{workflow.pk}/builder/steps/check/panel/?version=9")
    assert missing.status_code == 404
    bad = browser.get(f"/workflows/{workflow.pk}/builder/steps/check/panel/?version=²")
    assert bad.status_code == 400
