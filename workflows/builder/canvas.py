"""What the canvas partial draws: layout.py's positions joined with the graph's names, the
problems of each card and, in the run view, each card's status and the branches taken."""

import json

from django.utils.html import escape
from django.utils.safestring import mark_safe

from ..graph import Graph
from ..steps import get_handler
from ..triggers.kinds import get_kind
from ..validation import Problem
from . import iterations
from .layout import CARD_H, CARD_W, TRIGGER, layout

ARROW = ' marker-end="url(#canvas-arrow)"'
GROUP_ICONS = {"Records": "▤", "Flow": "◇", "Outside": "⇄", "People": "☺"}
# The worst status wins when a step ran several times (inside an iterator).
STATUS_RANK = ["not_run", "skipped", "succeeded", "running", "waiting", "failed"]


def edge_state(path, statuses: dict[str, str], branches: dict[str, set[str]]) -> str:
    """ "taken", "untaken" (a branch the run did not go along) or "" for one edge of a run.

    The same rule runs in the browser (static/app/run_canvas.js) when a live step event or
    the iteration selector changes a card: keep the two alike.
    """

    def ran(step_id):
        return statuses.get(step_id, "not_run") != "not_run"

    def chose(step_id, branch):
        return branch in branches.get(step_id, ())

    def refused(step_id, branch):
        return bool(branches.get(step_id)) and not chose(step_id, branch)

    checks = [chose(step, branch) for step, branch in path.guards]
    if path.source:
        checks.append(ran(path.source))
        if path.branch:
            checks.append(chose(path.source, path.branch))
    if path.target:
        checks.append(ran(path.target))
    elif path.source:
        checks.append(statuses.get(path.source) == "succeeded")
    if checks and all(checks):
        return "taken"
    if any(refused(step, branch) for step, branch in path.guards) or (
        path.source and path.branch and refused(path.source, path.branch)
    ):
        return "untaken"
    return ""


def card_info(step_id: str, step: dict | None, graph: Graph) -> dict:
    """A card's name, type label, group and icon."""
    if step_id == TRIGGER:
        trigger = graph.trigger
        kind = get_kind(trigger.get("type"))
        return {
            "name": "Trigger" if kind else "Choose a trigger",
            "accessible": "Trigger" if kind else "Choose a trigger",
            "kind": kind.label if kind else "No trigger yet",
            "group": "Trigger",
            "icon": "⚡",
        }
    handler = get_handler(step.get("type")) if step else None
    group = getattr(handler, "group", "") or "Flow"
    return {
        "name": str(step.get("name") or step_id),
        "accessible": str(step.get("name") or step_id),
        "kind": getattr(handler, "label", "") or str(step.get("type") or "?"),
        "group": group,
        "icon": GROUP_ICONS.get(group, "•"),
    }


def canvas_context(raw: dict, problems: list[Problem] | None = None, step_runs=None) -> dict:
    """The canvas of a graph; with `step_runs` (a run's StepRuns) each card gets its status."""
    raw = raw if isinstance(raw, dict) else {}
    graph = Graph.parse(raw)
    result = layout(raw)
    by_step: dict[str, list[str]] = {}
    for problem in problems or []:
        by_step.setdefault(problem.step or TRIGGER, []).append(problem.message)
    statuses: dict[str, str] = {}
    taken: dict[str, set[str]] = {}
    for run_step in step_runs or []:
        old = statuses.get(run_step.step_id, "not_run")
        if STATUS_RANK.index(run_step.status) >= STATUS_RANK.index(old):
            statuses[run_step.step_id] = run_step.status
        output = run_step.output if isinstance(run_step.output, dict) else {}
        if run_step.type == "if_else" and output.get("branch"):
            taken.setdefault(run_step.step_id, set()).add(str(output["branch"]))
    in_loops: dict[str, dict] = {}
    if step_runs is not None:
        statuses[TRIGGER] = "succeeded"
        in_loops = iterations.card_runs(graph, step_runs)
    cards = []
    for card in result.cards.values():
        info = card_info(card.id, graph.steps.get(card.id), graph)
        messages = by_step.get(card.id, [])
        status = None
        if step_runs is not None:
            status = "succeeded" if card.id == TRIGGER else statuses.get(card.id, "not_run")
        cards.append({**info, "id": card.id, "x": card.x, "y": card.y, "problems": messages,
                      "title": "\n".join(messages), "status": status,
                      "branches": json.dumps(sorted(taken.get(card.id, ()))),
                      "loops": json.dumps(in_loops[card.id]["loops"]) if card.id in in_loops else "",
                      "runs": json.dumps(in_loops[card.id]["runs"], sort_keys=True)
                      if card.id in in_loops else "",
                      "detached": card.id in result.detached})  # fmt: skip
    paths = []
    for path in result.paths:
        state = edge_state(path, statuses, taken) if step_runs is not None else ""
        paths.append({"d": path.d, "kind": path.kind, "arrow": path.arrow, "state": state,
                      "rule": _edge_rule(path) if step_runs is not None else ""})  # fmt: skip
    pluses = [
        {"x": p.x, "y": p.y, "label": p.label, "edge": f"{p.at}:{'' if p.at == 'trigger' else p.step}:{p.branch}"}
        for p in result.pluses
    ]  # fmt: skip
    general = [p.message for p in problems or [] if not p.step]
    # Edges, labels and "+" are many small elements: joined here, as a template loop over
    # them costs most of a 100-step page's render time.
    edges_svg = "".join(
        f'<path class="edge edge-{p["kind"]}{" edge-" + p["state"] if p["state"] else ""}" '
        f'd="{p["d"]}"{ARROW if p["arrow"] else ""}{p["rule"]}></path>'
        for p in paths
    )
    labels_html = "".join(
        f'<span class="canvas-label canvas-label-{label.kind}" '
        f'style="left:{label.x:g}px;top:{label.y:g}px">{escape(label.text)}</span>'
        for label in result.labels
    )
    pluses_html = "".join(
        f'<button type="button" class="canvas-plus panzoom-exclude" '
        f'style="left:{p["x"]:g}px;top:{p["y"]:g}px" data-edge="{escape(p["edge"])}" '
        f'aria-label="{escape(p["label"])}" title="{escape(p["label"])}">+</button>'
        for p in pluses
    )
    return {
        "run_view": step_runs is not None,
        "iteration_controls": iterations.controls(graph, result.cards, in_loops)
        if step_runs is not None
        else [],
        "edges_svg": mark_safe(edges_svg),  # noqa: S308 (every value above is escaped or ours)
        "labels_html": mark_safe(labels_html),  # noqa: S308
        "pluses_html": mark_safe(pluses_html),  # noqa: S308
        "width": result.width,
        "height": result.height,
        "card_w": CARD_W,
        "card_h": CARD_H,
        "cards": cards,
        "paths": paths,
        "pluses": pluses,
        "labels": result.labels,
        "frames": result.frames,
        "general_problems": general,
    }


def _edge_rule(path) -> str:
    """The attributes the browser re-evaluates `edge_state` from (run view only)."""
    rule = {"from": path.source, "branch": path.branch, "to": path.target,
            "guards": [list(guard) for guard in path.guards]}  # fmt: skip
    return f' data-edge="{escape(json.dumps(rule))}"'
