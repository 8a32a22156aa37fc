"""The variable picker (SPEC 8.1): what a step's templates can read, typed, scoped to what runs
before it.

- the trigger's payload (`payload` of its kind), record-shaped keys expanded into the fields
  of the trigger's object, a webhook's body from `expected_body`, a form's values from its
  fields;
- each step that may run before this one (`Graph.ancestors`) with its handler's `outputs`,
  records expanded into their object's fields; inside an iterator's body also its `item`
  (with the fields of what it iterates, when that is a find step's records) and `index`;
- the last test run's actual trigger payload and step outputs, for what no declaration can
  say (a code step's answer, an HTTP body);
- `run`, `workspace`, `now` and the workspace's secrets (names only).

Whole objects and lists are entries too (`trigger.record`, `steps.find.records`).
"""

from dataclasses import dataclass

from ..graph import Graph
from ..steps import get_handler
from ..templating import placeholders
from ..triggers.kinds import get_kind
from .fields import record_fields

# The type of each well-known payload or output key; record-shaped ones ("record") are
# expanded into the fields of their object.
KEY_TYPES = {
    "record": "record",
    "before": "record",
    "first": "record",
    "records": "records",
    "results": "list",
    "changed_fields": "list",
    "tags": "list",
    "notification_ids": "list",
    "object": "text",
    "event": "text",
    "branch": "text",
    "message_id": "text",
    "to": "text",
    "text": "text",
    "model": "text",
    "submitted_by": "text",
    "count": "number",
    "index": "number",
    "status": "number",
    "created": "boolean",
    "passed": "boolean",
    "expired": "boolean",
    "scheduled_for": "datetime",
    "due": "datetime",
    "submitted_at": "datetime",
    "resumed_at": "datetime",
}
FORM_FIELD_TYPES = {"number": "number", "boolean": "boolean", "date": "date", "record": "id"}
MAX_DEPTH = 3
MAX_FROM_RUN = 200


@dataclass(frozen=True)
class Variable:
    path: str  # inserted as {{path}}
    type: str  # text, number, boolean, date, datetime, id, object, list, record, records, …
    source: str  # "Trigger", a step's name, "Last test run", "Run"

    @property
    def template(self) -> str:
        return "{{" + self.path + "}}"


class _Collector:
    def __init__(self):
        self.found: dict[str, Variable] = {}

    def add(self, path: str, kind: str, source: str) -> None:
        if path not in self.found:
            self.found[path] = Variable(path, kind, source)

    def add_record(self, path: str, object_name, source: str, kind="object") -> None:
        self.add(path, kind, source)
        for field in record_fields(object_name) if isinstance(object_name, str) else ():
            self.add(f"{path}.{field.name}", field.type, source)

    def add_key(self, path: str, key: str, object_name, source: str) -> None:
        kind = KEY_TYPES.get(key, "object")
        if kind == "record":
            self.add_record(path, object_name, source)
        elif kind == "records":
            self.add(path, "list", source)
            if isinstance(object_name, str) and object_name:
                self.add_record(f"{path}.0", object_name, source)
        else:
            self.add(path, kind, source)

    def add_sample(self, path: str, value, source: str, depth: int = 0) -> None:
        """Entries for a JSON value seen in a run (its keys, a list's first item)."""
        if len(self.found) > MAX_FROM_RUN * 4:
            return
        self.add(path, _json_type(value), source)
        if depth >= MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, item in list(value.items())[:MAX_FROM_RUN]:
                if isinstance(key, str) and key.isidentifier():
                    self.add_sample(f"{path}.{key}", item, source, depth + 1)
        elif isinstance(value, list) and value:
            self.add_sample(f"{path}.0", value[0], source, depth + 1)


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "empty"
    return "text"


def _trigger_variables(collect: _Collector, trigger: dict) -> None:
    kind = get_kind(trigger.get("type"))
    settings = trigger.get("settings") if isinstance(trigger.get("settings"), dict) else {}
    object_name = settings.get("object")
    for key in kind.payload if kind else ():
        path = f"trigger.{key}"
        if key == "body":
            collect.add(path, "object", "Trigger")
            expected = settings.get("expected_body")
            for name, kind_name in expected.items() if isinstance(expected, dict) else ():
                collect.add(f"{path}.{name}", str(kind_name or "text"), "Trigger")
        elif key == "values":
            collect.add(path, "object", "Trigger")
            _form_values(collect, path, settings.get("fields"), "Trigger")
        elif key in ("user",):
            collect.add(path, "object", "Trigger")
            for name, kind_name in (("id", "number"), ("email", "text"), ("name", "text")):
                collect.add(f"{path}.{name}", kind_name, "Trigger")
        else:
            collect.add_key(path, key, object_name, "Trigger")


def _form_values(collect: _Collector, path: str, fields, source: str) -> None:
    for field in fields if isinstance(fields, list) else ():
        if isinstance(field, dict) and isinstance(field.get("name"), str) and field["name"]:
            kind = FORM_FIELD_TYPES.get(field.get("type"), "text")
            collect.add(f"{path}.{field['name']}", kind, source)


def _iterated_object(graph: Graph, iterator: dict):
    """The object an iterator's items are records of, when its items name a find step's
    records ({{steps.find.records}})."""
    items = (iterator.get("settings") or {}).get("items")
    for path in placeholders(items) if isinstance(items, str) else ():
        parts = path.split(".")
        if len(parts) == 3 and parts[0] == "steps" and parts[2] == "records":
            source = graph.steps.get(parts[1]) or {}
            return (source.get("settings") or {}).get("object")
    return None


def _step_variables(collect: _Collector, graph: Graph, step_id: str, ancestor: str) -> None:
    step = graph.steps[ancestor]
    handler = get_handler(step.get("type"))
    settings = step.get("settings") if isinstance(step.get("settings"), dict) else {}
    source = step.get("name") or ancestor
    path = f"steps.{ancestor}"
    collect.add(path, "object", source)
    outputs = handler.outputs if handler else ()
    if step.get("type") == "iterator":
        inside = step_id in graph.bodies.get(ancestor, ())
        outputs = ("item", "index") if inside else ("count", "results")
    for key in outputs:
        if key == "item":
            collect.add_record(f"{path}.item", _iterated_object(graph, step), source)
        elif key == "values":
            collect.add(f"{path}.values", "object", source)
            _form_values(collect, f"{path}.values", settings.get("fields"), source)
        else:
            collect.add_key(f"{path}.{key}", key, settings.get("object"), source)


def _run_variables(collect: _Collector, last_run, before: set[str]) -> None:
    if last_run is None:
        return
    collect.add_sample("trigger", last_run.trigger_payload or {}, "Last test run")
    for step_run in last_run.steps.all():
        if step_run.step_id in before and step_run.output is not None and not step_run.scope:
            collect.add_sample(f"steps.{step_run.step_id}", step_run.output, "Last test run")


def variables_for(graph: dict, step_id: str, *, last_run=None, secret_names=()) -> list[Variable]:
    """Every variable the templates of `step_id` ("trigger" for the trigger) can read."""
    parsed = Graph.parse(graph if isinstance(graph, dict) else {})
    collect = _Collector()
    before: set[str] = set()
    _trigger_variables(collect, parsed.trigger)  # a record trigger's `when` reads them too
    if step_id != "trigger":
        before = parsed.ancestors().get(step_id, set()) if step_id in parsed.steps else set()
        for ancestor in parsed.steps:  # in the graph's order
            if ancestor in before:
                _step_variables(collect, parsed, step_id, ancestor)
        _run_variables(collect, last_run, before)
    for path, kind in (
        ("run.id", "id"),
        ("run.started_at", "datetime"),
        ("workspace.name", "text"),
        ("workspace.slug", "text"),
        ("now", "datetime"),
    ):
        collect.add(path, kind, "Run")
    for name in secret_names:
        collect.add(f"secrets.{name}", "secret", "Secrets")
    return list(collect.found.values())
