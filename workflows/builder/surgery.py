"""Pure edits of a graph dict (SPEC section 4) the builder makes: insert at an edge, delete with
reconnection, cut and paste a fragment. No database here: `edits` wraps these in a draft edit.

An *edge* is where a "+" of the canvas sits, written "at:step:branch" (layout.Plus):
- `trigger::` (or `trigger:trigger:`): after the trigger;
- `after:<id>:`: after a step (after an iterator means after its loop; after an if/else, after
  its whole block);
- `branch:<id>:<n>` / `branch:<id>:else`: at the top of an if/else branch;
- `loop:<id>:`: at the top of an iterator's body;
- `block:<id>:`: after an if/else block, where its branches meet.

A *fragment* is a step with what it owns: an iterator's body, an if/else's branches up to where
they meet. Its *continuation* is where the flow goes after it.
"""

import copy
import re
from dataclasses import dataclass

from ..graph import STEP_ID, Graph, target_ids
from .layout import EXIT, _Builder


class EditError(ValueError):
    """An edit that cannot be made on this graph; the message is for the user."""


@dataclass(frozen=True)
class Edge:
    at: str
    step: str = ""
    branch: str = ""

    def __str__(self) -> str:
        return f"{self.at}:{self.step}:{self.branch}"


AT = ("trigger", "after", "branch", "loop", "block")


def parse_edge(value) -> Edge:
    if isinstance(value, Edge):
        return value
    if isinstance(value, dict):
        at, step, branch = value.get("at"), value.get("step") or "", value.get("branch") or ""
    elif isinstance(value, str):
        at, _, rest = value.partition(":")
        step, _, branch = rest.partition(":")
    else:
        raise EditError("Say where to put the step.")
    if at not in AT:
        raise EditError(f"Unknown place {value!r}.")
    if at == "trigger":
        return Edge("trigger")
    return Edge(str(at), str(step), str(branch))


def steps_by_id(graph: dict) -> dict[str, dict]:
    return {s["id"]: s for s in graph.get("steps") or [] if isinstance(s, dict) and "id" in s}


def get_step(graph: dict, step_id: str) -> dict:
    step = steps_by_id(graph).get(step_id)
    if step is None:
        raise EditError(f"There is no step {step_id!r} in this draft.")
    return step


def _settings(step: dict) -> dict:
    if not isinstance(step.get("settings"), dict):
        step["settings"] = {}
    return step["settings"]


def _slots(step: dict) -> list[tuple[dict, str]]:
    """Every (container, key) of a step whose value is a list of main-edge targets."""
    slots = [(step, "next")]
    if step.get("type") == "if_else":
        settings = _settings(step)
        for branch in settings.get("branches") or []:
            if isinstance(branch, dict):
                slots.append((branch, "next"))
        slots.append((settings, "else_next"))
    return slots


def _all_slots(graph: dict) -> list[tuple[dict, str]]:
    trigger = graph.setdefault("trigger", {})
    slots = [(trigger, "next")]
    for step in steps_by_id(graph).values():
        slots += _slots(step)
        if step.get("type") == "iterator":
            slots.append((_settings(step), "loop"))
    return slots


def _replace(slots, old: str | set, new: list[str]) -> None:
    olds = {old} if isinstance(old, str) else old
    for container, key in slots:
        targets = target_ids(container.get(key))
        if any(t in olds for t in targets):
            out: list[str] = []
            for t in targets:
                out += new if t in olds else [t]
            container[key] = list(dict.fromkeys(out))


def _scope(graph: dict, step_id: str):
    return Graph.parse(graph).owner.get(step_id)


def continuation(graph: dict, step_id: str) -> list[str]:
    step = get_step(graph, step_id)
    if step.get("type") == "if_else":
        merge = _Builder(graph).ipdom(step_id)
        return [] if merge == EXIT else [merge]
    return target_ids(step.get("next"))


def fragment_ids(graph: dict, step_id: str) -> list[str]:
    """The step and what it owns, in graph order: an iterator's body, an if/else's branches up
    to where they meet (with the bodies of iterators inside)."""
    parsed = Graph.parse(graph)
    step = get_step(graph, step_id)
    owned = {step_id}
    if step.get("type") == "iterator":
        owned |= parsed.bodies.get(step_id, set())
    elif step.get("type") == "if_else":
        stop = set(continuation(graph, step_id))
        scope = parsed.owner.get(step_id)
        stack = [t for t in parsed.successors(step_id) if t not in stop]
        while stack:
            current = stack.pop()
            if current in owned or current not in parsed.steps:
                continue
            if parsed.owner.get(current) != scope:
                continue
            owned.add(current)
            owned |= parsed.bodies.get(current, set())
            stack += [t for t in parsed.successors(current) if t not in stop]
    return [s for s in parsed.steps if s in owned]


def _open_ends(steps: dict[str, dict], ids: list[str], root: str, scope_of) -> list:
    """The places in a fragment where the flow stops (it continues after the fragment)."""
    ends = []
    level = scope_of(root)
    for step_id in ids:
        step = steps[step_id]
        if step_id != root and scope_of(step_id) != level:
            continue
        for container, key in _slots(step):
            if key == "next" and step.get("type") == "if_else" and container is step:
                continue
            if not target_ids(container.get(key)):
                ends.append((container, key))
    return ends


def _entry_slot(graph: dict, edge: Edge) -> list[tuple[dict, str]]:
    """Where the edge's targets are stored; a `block` edge has no one slot (see attach)."""
    if edge.at == "trigger":
        return [(graph.setdefault("trigger", {}), "next")]
    step = get_step(graph, edge.step)
    if edge.at == "after" and step.get("type") == "if_else":
        return []
    if edge.at == "after":
        return [(step, "next")]
    if edge.at == "loop":
        if step.get("type") != "iterator":
            raise EditError(f"{step.get('name') or edge.step} is not an iterator.")
        return [(_settings(step), "loop")]
    if edge.at == "branch":
        if step.get("type") != "if_else":
            raise EditError(f"{step.get('name') or edge.step} has no branches.")
        settings = _settings(step)
        if edge.branch == "else":
            return [(settings, "else_next")]
        branches = settings.get("branches") or []
        if not (edge.branch.isascii() and edge.branch.isdigit()) or int(edge.branch) >= len(
            branches
        ):
            raise EditError(f"{step.get('name') or edge.step} has no branch {edge.branch!r}.")
        return [(branches[int(edge.branch)], "next")]
    return []


def edge_targets(graph: dict, edge: Edge) -> list[str]:
    """What the flow reaches through this edge today (what a step put there will lead to)."""
    slots = _entry_slot(graph, edge)
    if slots:
        container, key = slots[0]
        return target_ids(container.get(key))
    return continuation(graph, edge.step)


def attach(graph: dict, edge: Edge, entry: str, set_exits) -> None:
    """Points the edge at `entry`; `set_exits(targets)` connects the new piece's way out to
    what the edge led to before."""
    edge = parse_edge(edge)
    slots = _entry_slot(graph, edge)
    if slots:
        container, key = slots[0]
        old = target_ids(container.get(key))
        container[key] = [entry]
        set_exits(old)
        return
    # After an if/else block: every way out of the block now leads to the new piece.
    old = continuation(graph, edge.step)
    steps = steps_by_id(graph)
    ids = fragment_ids(graph, edge.step)
    parsed = Graph.parse(graph)
    if old:
        _replace([s for i in ids for s in _slots(steps[i])], old[0], [entry])
    else:
        for container, key in _open_ends(steps, ids, edge.step, parsed.owner.get):
            container[key] = [entry]
    set_exits(old)


def _connector(step: dict, ids: set[str], cont: list[str], parsed_owner, root: str):
    """A function giving the fragment rooted at `step` its way out to `targets`."""

    def set_exits(targets: list[str], steps: dict[str, dict]) -> None:
        if step.get("type") != "if_else":
            step["next"] = list(targets)
            return
        slots = [s for i in ids if i in steps for s in _slots(steps[i])]
        if cont:
            _replace(slots, cont[0], list(targets))
        elif targets:
            for container, key in _open_ends(steps, list(ids), root, parsed_owner):
                container[key] = list(targets)

    return set_exits


def _clean_refs(graph: dict, gone: set[str]) -> None:
    for container, key in _all_slots(graph):
        if key in container:
            container[key] = [t for t in target_ids(container.get(key)) if t not in gone]


def fresh_id(base: str, taken) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", str(base).lower()).strip("_")[:50] or "step"
    if not base[0].isalpha():
        base = f"s_{base}"
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def fresh_name(base: str, names) -> str:
    """`base`, or the next free "<base> N" (a copy of "Delay 2" is "Delay 3", not "Delay 2 2")."""
    if base not in names:
        return base
    numbered = re.match(r"^(.*\S) (\d+)$", base)
    if numbered:
        base = numbered.group(1)
    n = 2
    while f"{base} {n}" in names:
        n += 1
    return f"{base} {n}"


def new_step(graph: dict, step_type: str, label: str, settings: dict) -> dict:
    steps = steps_by_id(graph)
    names = {str(s.get("name") or "") for s in steps.values()}
    step = {
        "id": fresh_id(step_type, steps),
        "name": fresh_name(label or step_type, names),
        "type": step_type,
        "settings": copy.deepcopy(settings),
        "next": [],
    }
    if step_type == "if_else":
        step["settings"].setdefault("branches", [{"name": "yes", "when": {"all": []}, "next": []}])
        step["settings"].setdefault("else_next", [])
    if step_type == "iterator":
        step["settings"].setdefault("items", "")
        step["settings"].setdefault("loop", [])
    return step


def insert(graph: dict, edge, step: dict) -> dict:
    """Puts a new step on an edge; what the edge led to follows it (both branches of a new
    if/else lead there, so they meet again right away)."""
    edge = parse_edge(edge)
    edge_targets(graph, edge)  # checks the edge exists
    graph.setdefault("steps", []).append(step)

    def set_exits(targets):
        if step.get("type") == "if_else":
            for branch in step["settings"].get("branches") or []:
                branch["next"] = list(targets)
            step["settings"]["else_next"] = list(targets)
        else:
            step["next"] = list(targets)

    attach(graph, edge, step["id"], set_exits)
    return graph


def delete(graph: dict, step_id: str) -> dict:
    """Removes a step (with what it owns) and reconnects what led to it to what followed."""
    ids = set(fragment_ids(graph, step_id))
    cont = [t for t in continuation(graph, step_id) if t not in ids]
    graph["steps"] = [s for s in graph.get("steps") or [] if s.get("id") not in ids]
    _replace(_all_slots(graph), step_id, cont)
    _clean_refs(graph, ids)
    layout = graph.get("layout")
    if isinstance(layout, dict):
        for gone in ids:
            layout.pop(gone, None)
    return graph


def copy_fragment(graph: dict, step_id: str) -> dict:
    """A self-contained copy of a step and what it owns, to paste elsewhere: references out of
    it are dropped; its way out is re-made where it is pasted."""
    ids = fragment_ids(graph, step_id)
    steps = steps_by_id(graph)
    cont = [t for t in continuation(graph, step_id) if t not in ids]
    parts = copy.deepcopy([steps[i] for i in ids])
    owner = Graph.parse(graph).owner
    return {
        "root": step_id,
        "steps": parts,
        "cont": cont,
        "levels": {i: owner.get(i) for i in ids},
    }


def paste(graph: dict, edge, fragment: dict, *, rename: bool = True) -> tuple[dict, str]:
    """Puts a fragment on an edge (with fresh ids and names unless moving); returns the graph
    and the id of the fragment's first step."""
    edge = parse_edge(edge)
    edge_targets(graph, edge)
    parts = copy.deepcopy(fragment.get("steps") or [])
    if not parts or not all(isinstance(p, dict) and STEP_ID.match(str(p.get("id"))) for p in parts):
        raise EditError("Nothing to paste.")
    root = str(fragment.get("root") or parts[0]["id"])
    cont = list(fragment.get("cont") or [])
    levels = dict(fragment.get("levels") or {})
    existing = steps_by_id(graph)
    names = {str(s.get("name") or "") for s in existing.values()}
    mapping = {}
    for part in parts:
        old = part["id"]
        if rename:
            mapping[old] = fresh_id(
                f"{old}_copy" if old in existing else old, set(existing) | set(mapping.values())
            )
            part["name"] = fresh_name(str(part.get("name") or old), names)
            names.add(part["name"])
        else:
            mapping[old] = old
        part["id"] = mapping[old]
    inside = set(mapping)
    for part in parts:
        slots = _slots(part) + (
            [(_settings(part), "loop")] if part.get("type") == "iterator" else []
        )
        for container, key in slots:
            if key in container:
                container[key] = [
                    mapping[t] if t in inside else t
                    for t in target_ids(container.get(key))
                    if t in inside or t in cont
                ]
    root_id = mapping.get(root, parts[0]["id"])
    by_id = {p["id"]: p for p in parts}
    ids = set(by_id)
    # Original owners: the root's level is outside the fragment, inner bodies are inside it.
    level_of = {mapping.get(k, k): v for k, v in levels.items()}
    set_exits = _connector(by_id[root_id], ids, cont, level_of.get, root_id)
    graph.setdefault("steps", []).extend(parts)
    attach(graph, edge, root_id, lambda targets: set_exits(targets, by_id))
    return graph, root_id


def move(graph: dict, step_id: str, edge) -> dict:
    """Cuts a step (with what it owns) and pastes it on another edge, keeping its id."""
    edge = parse_edge(edge)
    ids = set(fragment_ids(graph, step_id))
    if edge.step in ids and not (edge.step == step_id and edge.at in ("after", "block")):
        raise EditError("A step cannot be moved inside itself.")
    if edge.step == step_id:
        return graph  # dropped right after itself: nothing moves
    fragment = copy_fragment(graph, step_id)
    delete(graph, step_id)
    edge_targets(graph, edge)
    paste(graph, edge, fragment, rename=False)
    return graph
