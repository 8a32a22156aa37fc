"""The canvas layout: every graph draws with no card overlapping another, deterministically."""

import itertools
import random

import pytest

from workflows.builder.layout import CARD_H, CARD_W, layout
from workflows.defaults import DEFAULT_WORKFLOWS

from .helpers import graph, step


def overlapping_cards(result) -> list[tuple[str, str]]:
    boxes = list(result.cards.values())
    return [
        (a.id, b.id)
        for a, b in itertools.combinations(boxes, 2)
        if a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h
    ]


def pluses_on_cards(result) -> list[str]:
    return [
        plus.label
        for plus in result.pluses
        for card in result.cards.values()
        if card.x - 10 < plus.x < card.x + card.w + 10
        and card.y - 10 < plus.y < card.y + card.h + 10
    ]


def frames_overlapping_cards_outside(result) -> list[tuple[str, str]]:
    """A card is either inside an iterator's frame or entirely outside it."""
    bad = []
    for frame in result.frames:
        for card in result.cards.values():
            inside = (
                frame.x <= card.x and card.x + card.w <= frame.x + frame.w
                and frame.y <= card.y and card.y + card.h <= frame.y + frame.h
            )  # fmt: skip
            apart = (
                card.x >= frame.x + frame.w or card.x + card.w <= frame.x
                or card.y >= frame.y + frame.h or card.y + card.h <= frame.y
            )  # fmt: skip
            if not inside and not apart:
                bad.append((frame.id, card.id))
    return bad


def assert_tidy(raw):
    result = layout(raw)
    assert set(result.cards) == {"trigger"} | {s["id"] for s in raw["steps"]}
    assert overlapping_cards(result) == []
    assert pluses_on_cards(result) == []
    assert frames_overlapping_cards_outside(result) == []
    for card in result.cards.values():
        assert 0 <= card.x and card.x + CARD_W <= result.width
        assert 0 <= card.y and card.y + CARD_H <= result.height
    return result


@pytest.mark.parametrize("name,raw", [(n, g) for n, _, g in DEFAULT_WORKFLOWS])
def test_every_default_workflow_draws_without_overlaps(name, raw):
    assert_tidy(raw)


def test_if_else_branches_sit_side_by_side_and_join_at_the_merge():
    raw = DEFAULT_WORKFLOWS[0][2]  # lead capture: known → touch, else → create, both → follow_up
    result = assert_tidy(raw)
    touch, create, follow_up = (result.cards[s] for s in ("touch", "create", "follow_up"))
    assert touch.y == create.y and touch.x < create.x
    assert follow_up.y > touch.y + CARD_H
    assert follow_up.x + CARD_W / 2 == pytest.approx((touch.x + create.x + CARD_W) / 2)
    assert {label.text for label in result.labels} >= {"known", "else"}
    names = [plus.label for plus in result.pluses]
    assert "Add step to known" in names and "Add step to else" in names
    assert "Add step after Trigger" in names


def test_an_iterator_holds_its_body_inside_its_frame_with_the_way_back():
    raw = DEFAULT_WORKFLOWS[3][2]  # stale reminder: each → remind
    result = assert_tidy(raw)
    (frame,) = result.frames
    remind = result.cards["remind"]
    assert frame.id == "each" and frame.y < remind.y < frame.y + frame.h
    assert any(path.kind == "loop" for path in result.paths)
    assert "Add step inside For each opportunity" in [p.label for p in result.pluses]


def test_parallel_next_lists_fan_out_side_by_side():
    raw = graph(
        step("a", "filter", next=["b", "c", "d"]),
        step("b", "filter"),
        step("c", "filter"),
        step("d", "filter"),
    )
    result = assert_tidy(raw)
    assert len({result.cards[s].y for s in "bcd"}) == 1


def test_a_merge_across_branches_of_different_forks_draws_once_with_a_connector():
    raw = graph(
        step("a", "filter", next=["b", "c"]),
        step("b", "filter", next=["d"]),
        step("c", "filter", next=["d", "e"]),
        step("d", "filter"),
        step("e", "filter"),
    )
    result = assert_tidy(raw)
    assert any(path.kind == "goto" for path in result.paths)


def test_unreachable_and_broken_steps_still_draw_apart():
    raw = graph(
        step("a", "filter", next=["missing"]),
        step("lonely", "filter", next=["a"]),
        step("loop_a", "filter", next=["loop_b"]),
        step("loop_b", "filter", next=["loop_a"]),
    )
    result = assert_tidy(raw)
    assert "lonely" in result.detached


def random_graph(seed: int, size: int) -> dict:
    """A random valid-looking graph: chains, if/else, parallel next, iterators, merges."""
    rng = random.Random(seed)
    steps = []

    def make(depth: int, budget: list[int], scope_ids: list[str]) -> list[str]:
        if budget[0] <= 0:
            return []
        budget[0] -= 1
        step_id = f"s{len(steps)}"
        kind = rng.choice(["plain"] * 5 + ["if"] * 2 + ["par", "loop"] if depth < 4 else ["plain"])
        node = step(step_id, "filter")
        steps.append(node)
        scope_ids.append(step_id)
        if kind == "if":
            node["type"] = "if_else"
            node["settings"] = {
                "branches": [
                    {
                        "name": f"b{n}",
                        "when": {"all": []},
                        "next": make(depth + 1, budget, scope_ids),
                    }
                    for n in range(rng.randint(1, 3))
                ],
                "else_next": make(depth + 1, budget, scope_ids),
            }
        elif kind == "par":
            node["next"] = make(depth + 1, budget, scope_ids) + make(depth + 1, budget, scope_ids)
        elif kind == "loop":
            node["type"] = "iterator"
            node["settings"] = {"items": "{{trigger.items}}", "loop": make(depth + 1, budget, [])}
            node["next"] = make(depth, budget, scope_ids)
        else:
            node["next"] = make(depth, budget, scope_ids)
        if not node["next"] and kind in ("plain", "if") and rng.random() < 0.3 and scope_ids:
            node["next"] = [rng.choice(scope_ids)] if scope_ids[-1] != step_id else []
        return [step_id]

    entry = make(0, [size], [])
    while len(steps) < size:
        entry += make(0, [size - len(steps)], [])
    return graph(*steps, entry=entry)


@pytest.mark.parametrize("seed", range(25))
def test_random_graphs_draw_without_overlaps(seed):
    assert_tidy(random_graph(seed, 30))


def hundred_steps() -> dict:
    return random_graph(2026, 100)


def test_a_hundred_step_workflow_draws_without_overlaps():
    result = assert_tidy(hundred_steps())
    assert len(result.cards) == 101


def test_the_layout_is_deterministic():
    raw = hundred_steps()
    first, second = layout(raw), layout(raw)
    assert [(c.id, c.x, c.y) for c in first.cards.values()] == [
        (c.id, c.x, c.y) for c in second.cards.values()
    ]
    assert [p.d for p in first.paths] == [p.d for p in second.paths]
    assert [p.label for p in first.pluses] == [p.label for p in second.pluses]
