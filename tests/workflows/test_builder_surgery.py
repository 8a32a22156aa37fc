"""Random sequences of builder edits never break a graph's structure: no dangling ids, no
cycle, nothing unreachable, no edge across a loop's boundary, and the canvas never overlaps."""

import random

import pytest

from workflows.builder import surgery
from workflows.builder.layout import layout
from workflows.graph import Graph
from workflows.validation import _check_structure

from .helpers import graph, step
from .test_builder_layout import overlapping_cards

TYPES = ["filter", "delay", "if_else", "iterator", "send_email"]


def structure_problems(raw):
    parsed = Graph.parse(raw)
    ids = [s["id"] for s in raw["steps"]]
    problems = [p.message for p in _check_structure(parsed)]
    if len(ids) != len(set(ids)):
        problems.append("duplicate ids")
    for step_id in ids:
        for target in parsed.successors(step_id) + parsed.loop_body_entry(step_id):
            if target not in parsed.steps:
                problems.append(f"{step_id} -> missing {target}")
    return problems


def random_edit(raw, rng):
    edges = [p for p in layout(raw).pluses]
    ids = [s["id"] for s in raw["steps"]]
    action = rng.choice(["insert", "insert", "insert", "delete", "duplicate", "move", "paste"])
    edge = rng.choice(edges)
    at = f"{edge.at}:{'' if edge.at == 'trigger' else edge.step}:{edge.branch}"
    if action == "insert" or not ids:
        kind = rng.choice(TYPES)
        return surgery.insert(raw, at, surgery.new_step(raw, kind, kind.title(), {}))
    target = rng.choice(ids)
    if action == "delete":
        return surgery.delete(raw, target)
    if action == "duplicate":
        return surgery.paste(
            raw, surgery.Edge("after", target), surgery.copy_fragment(raw, target)
        )[0]
    if action == "paste":
        return surgery.paste(raw, at, surgery.copy_fragment(raw, target))[0]
    try:
        return surgery.move(raw, target, at)
    except surgery.EditError:
        return raw


@pytest.mark.parametrize("seed", range(12))
def test_random_edits_keep_the_graph_sound(seed):
    rng = random.Random(seed)
    raw = graph(step("a", "filter"), step("b", "filter"))
    raw["steps"][0]["next"] = ["b"]
    for n in range(40):
        raw = random_edit(raw, rng)
        problems = structure_problems(raw)
        assert not problems, (seed, n, problems)
        assert not overlapping_cards(layout(raw)), (seed, n)
