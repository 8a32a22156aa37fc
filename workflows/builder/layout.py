"""The canvas layout: where every card, edge, label and "+" of a graph goes (SPEC 8.1).

A pure function of the graph, computed on the server with fixed card sizes, so the page never
measures the DOM and `layout` positions are never needed. The drawing is a structured block
layout (the Activepieces / Windmill approach) over any valid graph of section 4:

- a chain of steps stacks top to bottom;
- a step with several targets (if/else branches, a parallel `next`) opens a *fork*: its lanes
  side by side, joined below on a bus at the step where they merge, which is the branching
  step's immediate post-dominator (the first step every path from it reaches);
- an iterator is a frame holding its body, with the way back drawn up its left side;
- a step reached a second time in a way this nesting cannot express (a merge across branches
  of different forks, or an edge out of a loop in an invalid draft) is drawn once, and the
  extra edge becomes a dashed connector to it.

Every step is placed exactly once, inside a box no other box overlaps, so no card overlaps
another whatever the graph.
"""

from dataclasses import dataclass, field

from ..graph import Graph, target_ids

CARD_W = 240
CARD_H = 64
GAP = 56  # edge between two cards; the "+" sits in its middle
PLUS_OFFSET = 28  # a "+" below a card's bottom edge
TAIL = 44  # the edge after a lane's last card, down to a bus or an open end
LANE_GAP = 40
FORK_TOP = 76  # split bus, branch label and the lane's "+" above the lanes
FORK_TOP_PLAIN = 32  # a parallel split without labels
MERGE_DROP = 20
EMPTY_LANE_W = 132
FRAME_SIDE = 36  # room beside an iterator's body for the way back
FRAME_HEAD = 16
FRAME_FOOT = 28
MARGIN = 40
TRIGGER = "trigger"
EXIT = "__exit__"


@dataclass
class Card:
    id: str  # a step id, or "trigger"
    x: float
    y: float
    w: float = CARD_W
    h: float = CARD_H


@dataclass
class Plus:
    x: float  # centre
    y: float
    label: str  # the accessible name, e.g. "Add step after Find person"
    at: str  # "trigger", "after", "branch", "loop", "block"
    step: str = ""
    branch: str = ""  # branch index, or "else"


@dataclass
class Path:
    points: list[tuple[float, float]]
    kind: str = "edge"  # edge, goto, loop
    arrow: bool = True
    # What the run view needs to tell a taken edge (canvas.edge_state): the step the edge
    # leaves, the branch name it carries, the step it leads to, and the if/else lanes
    # ((step, branch name), outermost first) it lies in.
    source: str = ""
    branch: str = ""
    target: str = ""
    guards: tuple[tuple[str, str], ...] = ()

    @property
    def d(self) -> str:
        return _rounded(self.points)


@dataclass
class Label:
    x: float
    y: float
    text: str
    kind: str = "branch"
    source: str = ""


@dataclass
class Frame:
    id: str  # the iterator's id
    x: float
    y: float
    w: float
    h: float


@dataclass
class Goto:
    """A dashed connector from a point to a card drawn elsewhere, resolved at the end."""

    x: float
    y: float
    target: str
    source: str = ""
    guards: tuple[tuple[str, str], ...] = ()


@dataclass
class Block:
    """A laid-out piece, with coordinates relative to its own top-left corner.

    Its entry is the top centre; `open` says whether the flow leaves at the bottom centre.
    """

    w: float
    h: float
    open: bool = True
    cards: list[Card] = field(default_factory=list)
    pluses: list[Plus] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    gotos: list[Goto] = field(default_factory=list)

    @property
    def cx(self) -> float:
        return self.w / 2

    def add(self, other: "Block", dx: float, dy: float) -> None:
        """Copies `other`'s content into this block, moved by (dx, dy)."""
        for card in other.cards:
            self.cards.append(Card(card.id, card.x + dx, card.y + dy, card.w, card.h))
        for plus in other.pluses:
            plus.x += dx
            plus.y += dy
            self.pluses.append(plus)
        for path in other.paths:
            path.points = [(x + dx, y + dy) for x, y in path.points]
            self.paths.append(path)
        for label in other.labels:
            label.x += dx
            label.y += dy
            self.labels.append(label)
        for frame in other.frames:
            self.frames.append(Frame(frame.id, frame.x + dx, frame.y + dy, frame.w, frame.h))
        for goto in other.gotos:
            goto.x += dx
            goto.y += dy
            self.gotos.append(goto)


@dataclass
class Layout:
    width: float
    height: float
    cards: dict[str, Card]
    pluses: list[Plus]
    paths: list[Path]
    labels: list[Label]
    frames: list[Frame]
    detached: list[str]  # steps not reachable from the trigger, drawn apart


@dataclass
class _Item:
    """One element of a chain: a block and the "+" on the edge that leaves it."""

    block: Block
    plus: Plus | None = None
    arrow_in: bool = True  # whether the edge into it ends with an arrow (cards do)
    exit_label: str = ""
    entry: str = ""  # the step the edge into it leads to ("" for a fork)
    exit: str = ""  # the step the edge out of it leaves ("" for a fork)


class _Builder:
    def __init__(self, raw: dict):
        self.graph = Graph.parse(raw)
        self.placed: set[str] = set()
        self._ipdom: dict[str | None, dict[str, str]] = {}

    # --- the graph, as the drawing sees it -------------------------------------------------

    def name(self, step_id: str) -> str:
        if step_id == TRIGGER:
            return "Trigger"
        step = self.graph.steps[step_id]
        return str(step.get("name") or step_id)

    def scope_of(self, step_id: str) -> str | None:
        return None if step_id == TRIGGER else self.graph.owner.get(step_id)

    def in_scope(self, targets, scope) -> list[str]:
        return [
            t
            for t in targets
            if (t == TRIGGER and scope is None)
            or (t in self.graph.steps and self.scope_of(t) == scope)
        ]

    def lanes_of(self, step_id: str) -> list[tuple[str, str, list[str]]]:
        """(label, branch key, targets) of each way out of a step, in drawing order."""
        if step_id == TRIGGER:
            return [("", "", target_ids(self.graph.trigger.get("next")))]
        step = self.graph.steps[step_id]
        if step.get("type") != "if_else":
            return [("", "", target_ids(step.get("next")))]
        settings = step.get("settings") if isinstance(step.get("settings"), dict) else {}
        lanes = []
        for index, branch in enumerate(settings.get("branches") or []):
            if isinstance(branch, dict):
                name = str(branch.get("name") or f"Branch {index + 1}")
                lanes.append((name, str(index), target_ids(branch.get("next"))))
        lanes.append(("else", "else", target_ids(settings.get("else_next"))))
        return lanes

    def successors(self, step_id: str) -> list[str]:
        scope = self.scope_of(step_id)
        targets = [t for _, _, lane in self.lanes_of(step_id) for t in lane]
        return list(dict.fromkeys(self.in_scope(targets, scope)))

    def ipdom(self, step_id: str) -> str:
        """The first step every path from `step_id` reaches (EXIT when the paths only meet at
        the end of their scope)."""
        scope = self.scope_of(step_id)
        if scope not in self._ipdom:
            self._ipdom[scope] = self._post_dominators(scope)
        return self._ipdom[scope].get(step_id, EXIT)

    def _post_dominators(self, scope) -> dict[str, str]:
        nodes = [s for s in self.graph.steps if self.scope_of(s) == scope]
        if scope is None:
            nodes.insert(0, TRIGGER)
        index = {node: n for n, node in enumerate(nodes)}
        exit_bit = 1 << len(nodes)
        succ = {node: [index[t] for t in self.successors(node) if t in index] for node in nodes}
        everything = (exit_bit << 1) - 1
        pdom = {node: everything for node in nodes}
        changed = True
        while changed:  # iterative data flow over bit sets; converges in a few passes
            changed = False
            for node in reversed(nodes):
                meet = everything
                if not succ[node]:
                    meet = exit_bit
                for target in succ[node]:
                    meet &= pdom[nodes[target]]
                value = meet | (1 << index[node])
                if value != pdom[node]:
                    pdom[node] = value
                    changed = True
        result = {}
        for node in nodes:
            strict = pdom[node] & ~(1 << index[node]) & ~exit_bit
            # Post-dominators form a chain: the nearest one has the most post-dominators.
            best, best_size = EXIT, -1
            for n, other in enumerate(nodes):
                if strict >> n & 1:
                    size = bin(pdom[other]).count("1")
                    if size > best_size:
                        best, best_size = other, size
            result[node] = best
        return result

    # --- blocks ------------------------------------------------------------------------------

    def chain(self, targets: list[str], stop: str, scope) -> Block:
        """The steps from `targets` until the flow reaches `stop` (the enclosing merge)."""
        targets = [t for t in dict.fromkeys(targets) if t == TRIGGER or t in self.graph.steps]
        valid = self.in_scope(targets, scope)
        stray = [t for t in targets if t in self.graph.steps and t not in valid]
        if len(valid) + len(stray) > 1:
            lanes = [("", "", None, self.chain([t], stop, scope)) for t in targets]
            return self.fork(lanes, stop, labelled=False)
        if not valid:
            block = Block(EMPTY_LANE_W, 0, open=stop != EXIT)
            if stray:
                block = self.goto_block(stray[0], "")
            return block
        items: list[_Item] = []
        current = valid[0]
        ended = "stop"
        while current != stop:
            if current in self.placed:
                items.append(_Item(self.goto_block(current, ""), arrow_in=False, entry=current))
                ended = "goto"
                break
            items.append(self.step_item(current))
            lanes = self.lanes_of(current)
            step_type = self.graph.steps.get(current, {}).get("type")
            outside = [
                t
                for _, _, lane in lanes
                for t in lane
                if t in self.graph.steps and self.scope_of(t) != scope
            ]
            successors = self.successors(current)
            if step_type == "if_else" or len(successors) > 1 or outside:
                merge = self.ipdom(current)
                labelled = step_type == "if_else"
                if labelled:
                    fork_lanes = [
                        (label, key, current, self.chain(lane, merge, scope))
                        for label, key, lane in lanes
                    ]
                else:
                    targets = [t for t in lanes[0][2] if t in self.graph.steps]
                    fork_lanes = [
                        ("", "", None, self.chain([t], merge, scope))
                        for t in dict.fromkeys(targets)
                    ]
                fork = self.fork(fork_lanes, merge, labelled=labelled, owner=current)
                if labelled:
                    items[-1].plus = None
                items.append(
                    _Item(fork, plus=self.block_plus(current, fork, merge), arrow_in=False)
                )
                if not fork.open:
                    ended = "end"
                    break
                current = merge
                continue
            if not successors:
                ended = "end"
                break
            current = successors[0]
        return self.stack(items, ended, stop)

    def block_plus(self, step_id: str, fork: Block, merge: str) -> Plus | None:
        """The "+" after an if/else block: a step there follows every branch."""
        if self.graph.steps.get(step_id, {}).get("type") != "if_else":
            return None
        return Plus(0, 0, f"Add step after {self.name(step_id)}", "block", step_id)

    def step_item(self, step_id: str) -> _Item:
        self.placed.add(step_id)
        plus = Plus(0, 0, f"Add step after {self.name(step_id)}", "after", step_id)
        if step_id == TRIGGER:
            plus = Plus(0, 0, "Add step after Trigger", "trigger", TRIGGER)
        step = self.graph.steps.get(step_id, {})
        if step.get("type") == "iterator":
            return _Item(
                self.iterator_block(step_id), plus=plus, exit_label="after the loop",
                entry=step_id, exit=step_id,
            )  # fmt: skip
        block = Block(CARD_W, CARD_H, cards=[Card(step_id, 0, 0)])
        return _Item(block, plus=plus, entry=step_id, exit=step_id)

    def iterator_block(self, step_id: str) -> Block:
        settings = self.graph.steps[step_id].get("settings")
        loop = target_ids(settings.get("loop")) if isinstance(settings, dict) else []
        body = self.chain(loop, EXIT, step_id)
        inner = max(CARD_W, body.w)
        w = inner + 2 * FRAME_SIDE
        cx = w / 2
        block = Block(w, 0)
        card_y = FRAME_HEAD
        block.cards.append(Card(step_id, cx - CARD_W / 2, card_y))
        body_y = card_y + CARD_H + GAP
        first = _entry_of(body)
        block.paths.append(
            Path(
                [(cx, card_y + CARD_H), (cx, body_y)],
                arrow=bool(loop),
                source=step_id,
                target=first,
            )  # fmt: skip
        )
        block.pluses.append(
            Plus(
                cx,
                card_y + CARD_H + GAP / 2,
                f"Add step inside {self.name(step_id)}",
                "loop",
                step_id,
            )  # fmt: skip
        )
        block.add(body, cx - body.cx, body_y)
        bottom = body_y + max(body.h, 8)
        back_y = bottom + 12
        if body.open and loop:
            block.paths.append(
                Path(
                    [(cx, bottom), (cx, back_y)],
                    arrow=False,
                    kind="loop",
                    source=step_id,
                    target=first,
                )  # fmt: skip
            )
        side = FRAME_SIDE / 2
        block.paths.append(
            Path(
                [
                    (cx, back_y),
                    (side, back_y),
                    (side, card_y + CARD_H / 2),
                    (cx - CARD_W / 2, card_y + CARD_H / 2),
                ],
                kind="loop",
                source=step_id,
                target=first,
            )  # fmt: skip
        )
        block.labels.append(Label(side + 8, back_y - 8, "next item", kind="loop", source=step_id))
        block.h = back_y + FRAME_FOOT
        block.frames.append(Frame(step_id, 0, 0, w, block.h))
        return block

    def goto_block(self, target: str, source: str) -> Block:
        block = Block(CARD_W, 24, open=False)
        block.gotos.append(Goto(CARD_W / 2, 0, target, source))
        return block

    def fork(self, lanes, stop: str, labelled: bool, owner: str = "") -> Block:
        """Lanes side by side under a split bus, joined on a merge bus when they meet."""
        top = FORK_TOP if labelled else FORK_TOP_PLAIN
        total = sum(lane.w for *_, lane in lanes) + LANE_GAP * max(len(lanes) - 1, 0)
        w = max(total, CARD_W)
        block = Block(w, 0)
        cx = w / 2
        x = (w - total) / 2
        centres = []
        guards = []
        for label, key, step_id, lane in lanes:
            lx = x + lane.w / 2
            centres.append(lx)
            guard = ((owner, label),) if labelled else ()
            guards.append(guard)
            for path in lane.paths:
                path.guards = guard + path.guards
            for goto in lane.gotos:
                goto.guards = guard + goto.guards
            first = "" if labelled else _entry_of(lane)  # before `add` moves its gotos
            block.add(lane, x, top)
            has_card = bool(lane.cards) and lane.cards[0].y == 0
            block.paths.append(
                Path(
                    [(lx, 18), (lx, top)],
                    arrow=has_card,
                    source=owner,
                    branch=label,
                    target=first,
                )  # fmt: skip
            )
            if abs(lx - cx) > 0.5:  # the split bus, one piece per lane: the taken one shows
                block.paths.append(
                    Path(
                        [(cx, 18), (lx, 18)],
                        arrow=False,
                        source=owner,
                        branch=label,
                        target=first,
                    )  # fmt: skip
                )
            if labelled:
                block.labels.append(Label(lx, 36, label, source=owner))
                name = "else" if key == "else" else label
                block.pluses.append(Plus(lx, 56, f"Add step to {name}", "branch", step_id, key))
            x += lane.w + LANE_GAP
        block.paths.append(Path([(cx, 0), (cx, 18)], arrow=False, source=owner))
        deepest = max((lane.h for *_, lane in lanes), default=0)
        opened = [lx for lx, (*_, lane) in zip(centres, lanes, strict=True) if lane.open]
        if stop == EXIT or not opened:
            block.h = top + deepest
            block.open = False
            return block
        bus = top + deepest + MERGE_DROP
        for lx, guard, (*_, lane) in zip(centres, guards, lanes, strict=True):
            if not lane.open:
                continue
            points = [(lx, top + lane.h), (lx, bus)]
            if abs(lx - cx) > 0.5:  # the merge bus, one piece per lane, like the split
                points.append((cx, bus))
            block.paths.append(Path(points, arrow=False, target=stop, guards=guard))
        block.h = bus
        return block

    def stack(self, items: list[_Item], ended: str, stop: str = EXIT) -> Block:
        """Items top to bottom on one axis, with the edge (and its "+") between them."""
        w = max((item.block.w for item in items), default=EMPTY_LANE_W)
        cx = w / 2
        block = Block(w, 0, open=ended == "stop")
        y = 0.0
        for n, item in enumerate(items):
            block.add(item.block, cx - item.block.cx, y)
            y += item.block.h
            last = n == len(items) - 1
            if not item.block.open:
                if item.plus and item.plus.at == "block":
                    block.pluses.append(_moved(item.plus, cx, y + PLUS_OFFSET))
                    y += TAIL
                continue
            source = item.exit
            if last:
                length = TAIL if ended == "stop" or item.plus else 0
                if ended == "stop":
                    target = "" if stop == EXIT else stop
                    block.paths.append(
                        Path([(cx, y), (cx, y + length)], arrow=False, source=source, target=target)
                    )
                elif item.plus:
                    block.paths.append(Path([(cx, y), (cx, y + 14)], arrow=False, source=source))
                if item.plus:
                    block.pluses.append(_moved(item.plus, cx, y + PLUS_OFFSET))
                y += length
                continue
            following = items[n + 1]
            gap = GAP if item.plus else 24
            block.paths.append(
                Path(
                    [(cx, y), (cx, y + gap)],
                    arrow=following.arrow_in,
                    source=source,
                    target=following.entry,
                )  # fmt: skip
            )
            if item.plus:
                block.pluses.append(_moved(item.plus, cx, y + gap / 2))
            if item.exit_label:
                block.labels.append(Label(cx + 10, y + 14, item.exit_label, kind="exit"))
            y += gap
        block.h = y
        return block


def _entry_of(block: Block) -> str:
    """The step a lane or loop body starts with ("" when it is empty or starts with a fork)."""
    if block.cards and block.cards[0].y == 0:
        return block.cards[0].id
    if block.gotos and block.gotos[0].y == 0:
        return block.gotos[0].target
    return ""


def _moved(plus: Plus, x: float, y: float) -> Plus:
    plus.x, plus.y = x, y
    return plus


def _rounded(points: list[tuple[float, float]], radius: float = 8) -> str:
    """An SVG path through orthogonal points, with rounded corners."""
    if not points:
        return ""
    parts = [f"M{points[0][0]:g} {points[0][1]:g}"]
    for n in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = points[n - 1], points[n], points[n + 1]
        r = min(radius, abs(x1 - x0 + y1 - y0) / 2, abs(x2 - x1 + y2 - y1) / 2)
        ax = x1 - r * _sign(x1 - x0)
        ay = y1 - r * _sign(y1 - y0)
        bx = x1 + r * _sign(x2 - x1)
        by = y1 + r * _sign(y2 - y1)
        parts.append(f"L{ax:g} {ay:g}Q{x1:g} {y1:g} {bx:g} {by:g}")
    parts.append(f"L{points[-1][0]:g} {points[-1][1]:g}")
    return "".join(parts)


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def layout(raw: dict) -> Layout:
    """Positions for every card, edge, label and "+" of `raw` (a graph of SPEC section 4)."""
    builder = _Builder(raw if isinstance(raw, dict) else {})
    main = builder.chain([TRIGGER], EXIT, None)
    blocks = [(main, "")]
    detached = []
    for step_id in builder.graph.steps:
        if step_id not in builder.placed and builder.scope_of(step_id) is None:
            detached.append(step_id)
            blocks.append((builder.chain([step_id], EXIT, None), step_id))
    for step_id in builder.graph.steps:  # steps of loops whose iterator is itself unreachable
        if step_id not in builder.placed:
            detached.append(step_id)
            blocks.append((builder.chain([step_id], EXIT, builder.scope_of(step_id)), step_id))
    canvas = Block(0, 0)
    x = MARGIN
    for block, first in blocks:
        if first:
            canvas.labels.append(
                Label(x + block.cx, MARGIN + CARD_H + 12, "Not connected", kind="detached")
            )
            y = MARGIN + CARD_H + 28
        else:
            y = MARGIN
        canvas.add(block, x, y)
        x += block.w + LANE_GAP * 2
        canvas.h = max(canvas.h, y + block.h)
    canvas.w = x - LANE_GAP * 2 + MARGIN
    cards = {card.id: card for card in canvas.cards}
    for goto in canvas.gotos:
        target = cards.get(goto.target)
        if target is not None:
            canvas.paths.append(_goto_path(goto, target))
    return Layout(
        width=canvas.w,
        height=canvas.h + MARGIN,
        cards=cards,
        pluses=canvas.pluses,
        paths=canvas.paths,
        labels=canvas.labels,
        frames=canvas.frames,
        detached=detached,
    )


def _goto_path(goto: Goto, target: Card) -> Path:
    """A dashed connector into the top of a card drawn elsewhere, around the cards between."""
    tx, ty = target.x + target.w / 2, target.y
    if ty >= goto.y + 24:
        points = [(goto.x, goto.y), (goto.x, goto.y + 12), (tx, goto.y + 12), (tx, ty)]
        if abs(tx - goto.x) < 1:
            points = [(goto.x, goto.y), (tx, ty)]
        else:
            points = [
                (goto.x, goto.y), (goto.x, ty - 16), (tx, ty - 16), (tx, ty)
            ]  # fmt: skip
    else:  # a target above (a cycle in an invalid draft): around the left side
        side = min(goto.x, target.x) - 24
        points = [
            (goto.x, goto.y), (goto.x, goto.y + 12), (side, goto.y + 12), (side, ty - 16),
            (tx, ty - 16), (tx, ty),
        ]  # fmt: skip
    return Path(points, kind="goto", source=goto.source, target=goto.target, guards=goto.guards)
