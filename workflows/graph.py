"""The graph format of SPEC section 4: its shape and its edges (what follows what, loop
bodies, which steps run before which). Checking a graph is workflows.validation's job."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

STEP_ID = re.compile(r"^[a-z][a-z0-9_]*$")
TRIGGER_TYPES = (
    "record_created",
    "record_updated",
    "record_created_or_updated",
    "record_deleted",
    "schedule",
    "manual",
    "webhook",
    "date_relative",
)
RECORD_TRIGGERS = TRIGGER_TYPES[:4]
MAX_STEPS = 200


def empty_graph() -> dict:
    return {"trigger": {"type": "manual", "settings": {}, "next": []}, "steps": [], "layout": {}}


@dataclass
class Graph:
    """A parsed graph with the edges the engine and validation need.

    Main edges are `next` and branch targets; loop edges go from an iterator to its body.
    """

    raw: dict
    steps: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: dict) -> "Graph":
        graph = cls(raw=raw if isinstance(raw, dict) else {})
        for step in graph.raw.get("steps") or []:
            if isinstance(step, dict) and isinstance(step.get("id"), str):
                graph.steps.setdefault(step["id"], step)
        return graph

    @property
    def trigger(self) -> dict:
        trigger = self.raw.get("trigger")
        return trigger if isinstance(trigger, dict) else {}

    @property
    def entry(self) -> list[str]:
        return target_ids(self.trigger.get("next"))

    def successors(self, step_id: str) -> list[str]:
        """Main-edge successors in a stable order: next first, then branch targets."""
        step = self.steps[step_id]
        settings = step.get("settings") or {}
        targets = list(target_ids(step.get("next")))
        if step.get("type") == "if_else":
            for branch in settings.get("branches") or []:
                if isinstance(branch, dict):
                    targets += target_ids(branch.get("next"))
            targets += target_ids(settings.get("else_next"))
        return list(dict.fromkeys(targets))

    def loop_body_entry(self, step_id: str) -> list[str]:
        step = self.steps[step_id]
        if step.get("type") != "iterator":
            return []
        return target_ids((step.get("settings") or {}).get("loop"))

    @cached_property
    def bodies(self) -> dict[str, set[str]]:
        """Each iterator's body: the steps reachable from its loop entries."""
        bodies = {}
        for step_id in self.steps:
            entry = self.loop_body_entry(step_id)
            if entry:
                bodies[step_id] = self._reach(entry, exclude={step_id}, with_loops=True)
        return bodies

    @cached_property
    def owner(self) -> dict[str, str | None]:
        """The innermost iterator whose body holds each step (None at top level)."""
        owners: dict[str, str | None] = {}
        for step_id in self.steps:
            holders = [it for it, body in self.bodies.items() if step_id in body]
            owners[step_id] = min(holders, key=lambda it: len(self.bodies[it]), default=None)
        return owners

    def scope_steps(self, iterator: str | None) -> list[str]:
        """The steps that execute directly in a scope (top level or one iterator's body)."""
        return [s for s in self.steps if self.owner.get(s) == iterator]

    def _reach(self, start: Iterable[str], exclude=frozenset(), with_loops=False) -> set[str]:
        seen: set[str] = set()
        stack = [s for s in start if s in self.steps and s not in exclude]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            nxt = self.successors(current)
            if with_loops:
                nxt = nxt + self.loop_body_entry(current)
            stack += [s for s in nxt if s in self.steps and s not in exclude and s not in seen]
        return seen

    def ancestors(self) -> dict[str, set[str]]:
        """Steps that may have run before each step (through next, branches and loops).

        Steps of an iterator's body count as run before what follows the iterator.
        """
        preds: dict[str, set[str]] = {s: set() for s in self.steps}
        for step_id in self.steps:
            for target in self.successors(step_id) + self.loop_body_entry(step_id):
                if target in preds:
                    preds[target].add(step_id)
        result: dict[str, set[str]] = {}

        def visit(step_id: str, trail: frozenset) -> set[str]:
            if step_id in result:
                return result[step_id]
            found: set[str] = set()
            for pred in preds[step_id]:
                if pred in trail:
                    continue
                found |= {pred} | visit(pred, trail | {step_id})
                if step_id not in self.bodies.get(pred, ()):
                    found |= self.bodies.get(pred, set())
            result[step_id] = found
            return found

        for step_id in self.steps:
            visit(step_id, frozenset())
        return result


def target_ids(value) -> list[str]:
    """The step ids in a `next`-like value, ignoring anything that is not an id."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []
