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
