"""The run view's iteration selector (SPEC 8, "an iteration selector on iterators").

A step inside an iterator body runs once per item: its StepRuns differ by `scope` ("2" for
item 2, "2.0" for item 0 of an inner loop in item 2). The canvas draws each card once, with
the worst status over every item; the cards inside a body also carry each scope's status and
branch (`data-runs`) and the iterators they sit in (`data-loops`), so that choosing an item in
an iterator's "Iteration" select (static/app/run_canvas.js) repaints them without a request.
"""

from dataclasses import dataclass

from ..graph import Graph
from .layout import CARD_H, CARD_W


@dataclass
class IterationControl:
    iterator: str
    name: str
    x: float
    y: float
    count: int  # items seen so far (the options Item 1 ... Item count)

    @property
    def items(self) -> range:
        return range(self.count)


def loops_of(graph: Graph, step_id: str) -> list[str]:
    """The iterators a step sits in, outermost first."""
    loops: list[str] = []
    current = graph.owner.get(step_id)
    while current and current not in loops:  # an invalid draft may nest loops in a cycle
        loops.insert(0, current)
        current = graph.owner.get(current)
    return loops


def card_runs(graph: Graph, step_runs) -> dict[str, dict]:
    """Per step inside a loop body: {"loops": [...], "runs": {scope: [status, branches]}}."""
    found = {
        step_id: {"loops": loops_of(graph, step_id), "runs": {}}
        for step_id in graph.steps
        if graph.owner.get(step_id)
    }
    for run_step in step_runs:
        entry = found.get(run_step.step_id)
        if entry is None or not run_step.scope:
            continue
        output = run_step.output if isinstance(run_step.output, dict) else {}
        branch = output.get("branch") if run_step.type == "if_else" else None
        entry["runs"][run_step.scope] = [run_step.status, [str(branch)] if branch else []]
    return found


def controls(graph: Graph, cards: dict, runs: dict[str, dict]) -> list[IterationControl]:
    """One select per iterator card, just below it beside the edge into its body."""
    counts: dict[str, int] = {}
    for entry in runs.values():
        for scope in entry["runs"]:
            indexes = scope.split(".")
            for depth, iterator in enumerate(entry["loops"][: len(indexes)]):
                if indexes[depth].isdigit():
                    counts[iterator] = max(counts.get(iterator, 0), int(indexes[depth]) + 1)
    result = []
    for step_id, step in graph.steps.items():
        card = cards.get(step_id)
        if step.get("type") != "iterator" or card is None:
            continue
        result.append(
            IterationControl(
                iterator=step_id,
                name=str(step.get("name") or step_id),
                x=card.x + CARD_W / 2 + 10,
                y=card.y + CARD_H + 12,
                count=counts.get(step_id, 0),
            )
        )
    return result


def parse_pattern(text: str) -> list[str] | None:
    """The items chosen in a card's iterators, outermost first, as the run view's card sends
    them ("2.*": item 2 of the outer loop, every item of the inner); None when malformed."""
    if not text:
        return []
    parts = text.split(".")
    if len(text) > 200 or not all(
        part == "*" or part.isascii() and part.isdigit() for part in parts
    ):
        return None
    return parts


def scope_matches(scope: str, pattern: list[str]) -> bool:
    """Whether a StepRun's scope is one of the chosen items (static/app/run_canvas.js `matches`)."""
    indexes = scope.split(".") if scope else []
    return all(
        value == "*" or (depth < len(indexes) and indexes[depth] == value)
        for depth, value in enumerate(pattern)
    )
