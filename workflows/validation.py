"""Validation of a graph (SPEC section 4): every problem at once, each with the step id it is
about. Settings are checked from each step type's and trigger kind's declaration
(`settings_schema`, read by `schema_problems`) plus the handler's own extra checks."""

from dataclasses import asdict, dataclass

from crm.objects import OBJECTS

from . import templating
from .graph import MAX_STEPS, STEP_ID, Graph
from .settings_schema import ON_ERROR, schema_problems


@dataclass
class Problem:
    message: str
    step: str | None = None  # a step id, "trigger", or None for the whole graph
    field: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def validate(raw: dict) -> list[Problem]:
    """Every problem of a graph (SPEC section 4): shape, unknown step types, bad settings,
    missing `next` targets, cycles, unreachable steps, templates naming steps that do not run
    before, unknown objects and fields."""
    from .steps import REGISTRY, get_handler
    from .steps.base import GraphInfo
    from .triggers.kinds import validate_trigger

    if not isinstance(raw, dict):
        return [Problem("The graph must be a JSON object with 'trigger' and 'steps'.")]
    problems: list[Problem] = []
    if not isinstance(raw.get("trigger"), dict):
        problems.append(Problem("The graph needs a trigger object.", step="trigger"))
    steps = raw.get("steps", [])
    if not isinstance(steps, list):
        return problems + [Problem("'steps' must be a list.")]
    if len(steps) > MAX_STEPS:
        problems.append(Problem(f"A workflow has at most {MAX_STEPS} steps."))
    seen: set[str] = set()
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            problems.append(Problem(f"Step {index} must be an object."))
            continue
        step_id = step.get("id")
        if not isinstance(step_id, str) or not STEP_ID.match(step_id):
            problems.append(
                Problem(
                    f"Step {index} has id {step_id!r}: ids are slugs like 'find_person'.",
                    step=step_id if isinstance(step_id, str) else None,
                    field="id",
                )
            )
            continue
        if step_id in seen:
            problems.append(
                Problem(f"Two steps have the id '{step_id}'.", step=step_id, field="id")
            )
        seen.add(step_id)
    graph = Graph.parse(raw)
    info = GraphInfo(step_ids=set(graph.steps), objects=OBJECTS)

    if isinstance(raw.get("trigger"), dict):
        problems += [
            Problem(msg, step="trigger", field="settings")
            for msg in validate_trigger(graph.trigger)
        ]
        problems += _check_targets("trigger", graph.trigger.get("next"), "next", graph)

    for step_id, step in graph.steps.items():
        handler = get_handler(step.get("type"))
        if handler is None:
            problems.append(
                Problem(
                    f"Unknown step type {step.get('type')!r}; use one of {', '.join(REGISTRY)}.",
                    step=step_id,
                    field="type",
                )
            )
            continue
        settings = step.get("settings", {})
        if not isinstance(settings, dict):
            problems.append(Problem("settings must be an object.", step=step_id, field="settings"))
            continue
        problems += [
            Problem(msg, step=step_id, field="settings")
            for msg in handler.settings_problems(settings, info)
        ]
        problems += _check_on_error(step_id, step.get("on_error"))
        problems += _check_targets(step_id, step.get("next"), "next", graph)
        if step.get("type") == "if_else":
            for n, branch in enumerate(settings.get("branches") or []):
                if isinstance(branch, dict):
                    problems += _check_targets(
                        step_id, branch.get("next"), f"settings.branches.{n}.next", graph
                    )
            problems += _check_targets(
                step_id, settings.get("else_next"), "settings.else_next", graph
            )
        if step.get("type") == "iterator":
            problems += _check_targets(step_id, settings.get("loop"), "settings.loop", graph)

    problems += _check_structure(graph)
    if not any(
        p.field in ("next", "settings.loop") and "does not exist" in p.message for p in problems
    ):
        problems += _check_references(graph)
    return problems


def _check_targets(step_id: str, value, where: str, graph: Graph) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [Problem(f"{where} must be a list of step ids.", step=step_id, field=where)]
    return [
        Problem(f"{where} names step '{target}', which does not exist.", step=step_id, field=where)
        for target in value
        if target not in graph.steps
    ] + [
        Problem(f"{where} points the step at itself.", step=step_id, field=where)
        for target in value
        if target == step_id
    ]


def _check_on_error(step_id: str, on_error) -> list[Problem]:
    if on_error is None:
        return []
    return [
        Problem(message, step=step_id, field=message.split(" ")[0])
        for message in schema_problems([ON_ERROR], {"on_error": on_error})
    ]


def _check_structure(graph: Graph) -> list[Problem]:
    problems = []
    # Cycles through main edges (loops are only allowed through an iterator's body).
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in graph.successors(node):
            if target not in graph.steps:
                continue
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target] if target in path else [node, target]
                problems.append(
                    Problem(
                        "Cycle: " + " → ".join(cycle) + ". Repeat steps with an iterator instead.",
                        step=node,
                        field="next",
                    )
                )
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for step_id in graph.steps:
        if step_id not in state:
            visit(step_id, [step_id])

    reachable = graph._reach(graph.entry, with_loops=True)
    for step_id in graph.steps:
        if step_id not in reachable:
            problems.append(Problem("This step is not reachable from the trigger.", step=step_id))
    # A loop body is entered only through its iterator's `loop`, and is left only when the
    # iterator moves on to its own `next`: every main edge stays inside one scope.
    for step_id in graph.steps:
        for target in graph.successors(step_id):
            inner = graph.owner.get(target)
            if target in graph.steps and inner != graph.owner.get(step_id):
                problems.append(
                    Problem(
                        f"'{target}' is inside the loop of '{inner}', so only that loop can lead "
                        f"to it."
                        if inner
                        else f"A step inside the loop of '{graph.owner.get(step_id)}' cannot lead out of "
                        f"it to '{target}'.",
                        step=step_id,
                        field="next",
                    )
                )
    for target in graph.entry:
        if graph.owner.get(target):
            problems.append(
                Problem(
                    f"The trigger cannot lead into the loop of '{graph.owner[target]}'.",
                    step="trigger",
                    field="next",
                )
            )
    return problems


def _check_references(graph: Graph) -> list[Problem]:
    problems = []
    ancestors = graph.ancestors()
    for step_id, step in graph.steps.items():
        for path in templating.placeholders(step.get("settings") or {}):
            parts = path.split(".")
            try:
                templating.parse_path(path)
            except templating.TemplateError as error:
                problems.append(Problem(str(error), step=step_id, field="settings"))
                continue
            if parts[0] == "steps":
                if len(parts) < 2:
                    problems.append(
                        Problem(
                            "'{{steps}}' must name a step: steps.ID.…",
                            step=step_id,
                            field="settings",
                        )
                    )
                    continue
                name = parts[1]
                if name == step_id and step.get("type") != "iterator":
                    problems.append(
                        Problem(
                            f"'{{{{{path}}}}}' names this step itself.",
                            step=step_id,
                            field="settings",
                        )
                    )
                elif name not in graph.steps:
                    problems.append(
                        Problem(
                            f"'{{{{{path}}}}}' names step '{name}', which does not exist.",
                            step=step_id,
                            field="settings",
                        )
                    )
                elif name != step_id and name not in ancestors.get(step_id, set()):
                    problems.append(
                        Problem(
                            f"'{{{{{path}}}}}' names step '{name}', which does "
                            f"not run before this step.",
                            step=step_id,
                            field="settings",
                        )
                    )
    for path in templating.placeholders(graph.trigger.get("settings") or {}):
        if path.split(".")[0] == "steps":
            problems.append(Problem("The trigger cannot read step outputs.", step="trigger"))
    return problems
