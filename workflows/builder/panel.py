"""The builder's settings panel (SPEC 8.1): a form description built from a step type's or
trigger kind's declared settings and their current values, and the POST read back.

One description serves every type: each `Setting.kind` has one partial
(`templates/workflows/builder/settings/<kind>.html`) and one reader (`panel_parse`), so a new
step type gets its form with no page code. Inputs are named by the dotted path of the setting
inside `settings`; errors are validation's own messages (the ones publish gives), shown on the
input whose path they start with.
"""

from dataclasses import dataclass, field
from typing import Any

from ..conditions import OPERATORS, UNARY
from ..settings_schema import ON_ERROR, Setting
from ..steps import get_handler
from ..steps.form import FIELD_TYPES
from ..triggers.kinds import get_kind
from .fields import field_choices, object_choices, writable_fields
from .panel_parse import display, display_options

OPERATOR_LABELS = {
    "eq": "equals",
    "ne": "does not equal",
    "gt": "is greater than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "in": "is one of",
    "not_in": "is none of",
    "before": "is before",
    "after": "is after",
}
OPERATOR_CHOICES = [(op, OPERATOR_LABELS.get(op, op)) for op in OPERATORS]


def schema_of(step_id: str, step_type) -> tuple[Setting, ...] | None:
    """The declared settings of a step's type (or the trigger's kind), None when unknown."""
    if step_id == "trigger":
        kind = get_kind(step_type)
        return kind.settings_schema if kind else None
    handler = get_handler(step_type) if isinstance(step_type, str) else None
    return handler.settings_schema if handler else None


def type_label(step_id: str, step_type) -> str:
    if step_id == "trigger":
        kind = get_kind(step_type)
        return kind.label if kind else str(step_type or "Trigger")
    handler = get_handler(step_type) if isinstance(step_type, str) else None
    return (handler.label or handler.type) if handler else str(step_type)


@dataclass
class PanelInput:
    """One setting as the panel draws it. `name` is the input's name (its dotted path)."""

    setting: Setting
    name: str
    value: Any = ""
    errors: list[str] = field(default_factory=list)
    children: list["PanelInput"] = field(default_factory=list)
    rows: list = field(default_factory=list)
    choices: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.setting.kind

    @property
    def id(self) -> str:
        return "setting-" + self.name.replace(".", "-")

    @property
    def template(self) -> str:
        return f"workflows/builder/settings/{self.partial}.html"

    @property
    def partial(self) -> str:
        kind = self.kind
        if kind in ("text", "cron", "timezone", "datetime_local", "number", "integer"):
            return "text"
        if kind in ("text_list", "tags"):
            return "text"
        if kind == "boolean" and isinstance(self.value, str):
            return "text"  # a template in place of true/false stays editable as text
        if kind in ("condition", "where") and isinstance(self.value, str):
            return "text"
        return kind

    @property
    def input_type(self) -> str:
        return "datetime-local" if self.kind == "datetime_local" else "text"

    @property
    def takes_templates(self) -> bool:
        return self.setting.templates


@dataclass
class ConditionNode:
    """A group (`all`/`any` of items) or a leaf of the condition builder."""

    path: str  # where the node's inputs live: "where" or "where.all.0"
    join: str = "all"
    items: list["ConditionNode"] = field(default_factory=list)
    leaf: bool = False
    left: str = ""
    op: str = "eq"
    right: str = ""
    left_known: bool = True  # a `where` leaf's field is one of the object's
    errors: list[str] = field(default_factory=list)

    @property
    def items_path(self) -> str:
        return f"{self.path}.{self.join}"

    @property
    def unary(self) -> bool:
        return self.op in UNARY


class _Errors:
    """Hands out an error list per input path, then deals validation's messages into them:
    each message goes to the longest path it starts with (`where.all.0: unknown operator` to
    the condition row, `on_error.retry must be…` to that input), the rest to the panel's top."""

    def __init__(self):
        self.lists: dict[str, list[str]] = {}
        self.general: list[str] = []

    def for_path(self, path: str) -> list[str]:
        return self.lists.setdefault(path, [])

    def deal(self, messages) -> None:
        paths = sorted(self.lists, key=len, reverse=True)
        for message in dict.fromkeys(messages):
            target = next((p for p in paths if _names(message, p)), None)
            if target is None and message.startswith("Unknown object") and "object" in self.lists:
                target = "object"
            (self.lists[target] if target else self.general).append(message)


def _names(message: str, path: str) -> bool:
    return message.startswith(path) and message[len(path) : len(path) + 1] in (" ", ":", ".", "")


class _InputBuilder:
    def __init__(self, errors: _Errors):
        self.errors = errors

    def inputs(self, schema, settings: dict, prefix: str = "") -> list[PanelInput]:
        settings = settings if isinstance(settings, dict) else {}
        return [
            self.input(setting, settings, prefix)
            for setting in schema
            if setting.kind != "step_ids"
        ]

    def input(self, setting: Setting, siblings: dict, prefix: str) -> PanelInput:
        name = prefix + setting.name
        value = siblings.get(setting.name)
        item = PanelInput(setting, name, errors=self.errors.for_path(name))
        method = getattr(self, f"_{setting.kind}", None)
        if method is not None:
            method(item, value, siblings)
        else:
            item.value = display(value if value is not None else setting.default)
        return item

    def _boolean(self, item, value, siblings):
        if isinstance(value, str):
            item.value = value
        else:
            item.value = bool(value if value is not None else item.setting.default)

    def _choice(self, item, value, siblings):
        value = value if value is not None else item.setting.default
        item.value = "" if value is None else value
        item.choices = [c if isinstance(c, tuple) else (c, str(c)) for c in item.setting.choices]
        if value not in (None, "") and value not in item.setting.choice_values():
            item.choices.append((value, f"{value} (not allowed)"))
        item.extra["blank"] = not item.setting.required and item.setting.default is None

    def _object(self, item, value, siblings):
        item.value = value or ""
        item.choices = object_choices()
        if value and value not in dict(item.choices):
            item.choices.append((value, f"{value} (unknown)"))

    def _field(self, item, value, siblings):
        item.value = value or ""
        fields = field_choices(siblings.get("object") or "")
        item.choices = list(fields)
        if item.setting.descending:
            item.choices += [(f"-{name}", f"{label}, descending") for name, label in fields]
        if value and value not in dict(item.choices):
            item.choices.append((value, f"{value} (unknown)"))
        item.extra["object"] = siblings.get("object") or ""

    def _fields(self, item, value, siblings):
        chosen = list(value) if isinstance(value, list) else []
        item.value = chosen
        item.choices = list(field_choices(siblings.get("object") or ""))
        known = {name for name, _ in item.choices}
        item.choices += [(name, f"{name} (unknown)") for name in chosen if name not in known]
        item.extra["object"] = siblings.get("object") or ""

    def _values(self, item, value, siblings):
        value = value if isinstance(value, dict) else {}
        object_name = siblings.get("object") or ""
        item.extra["object"] = object_name
        fields = writable_fields(object_name)
        known = {f.name for f in fields}
        for f in fields:
            path = f"{item.name}.{f.name}"
            item.rows.append(
                {
                    "name": path,
                    "field": f.name,
                    "label": f.label,
                    "type": f.type,
                    "value": display(value.get(f.name)),
                    "choices": [c[0] for c in f.choices]
                    or (["true", "false"] if f.type == "boolean" else []),
                    "errors": self.errors.for_path(path),
                    "id": "setting-" + path.replace(".", "-"),
                }
            )
        for key, stored in value.items():  # set through the API on a field the object lacks
            if key not in known:
                path = f"{item.name}.{key}"
                item.rows.append(
                    {
                        "name": path,
                        "field": key,
                        "label": f"{key} (unknown)",
                        "type": "text",
                        "value": display(stored),
                        "choices": [],
                        "errors": self.errors.for_path(path),
                        "id": "setting-" + path.replace(".", "-"),
                    }
                )

    def _keyvalue(self, item, value, siblings):
        value = value if isinstance(value, dict) else {}
        pairs = [(k, display(v)) for k, v in value.items()] + [("", "")]
        for index, (key, text) in enumerate(pairs):
            path = f"{item.name}.{index}"
            item.rows.append(
                {
                    "path": path,
                    "key": key,
                    "value": text,
                    "errors": self.errors.for_path(f"{path}.key"),
                    "id": "setting-" + path.replace(".", "-"),
                }
            )

    def _json(self, item, value, siblings):
        if value is None:
            item.value = ""
        elif isinstance(value, str):
            item.value = value
        else:
            import json

            item.value = json.dumps(value, indent=2, ensure_ascii=False)

    def _code(self, item, value, siblings):
        item.value = value if isinstance(value, str) else (item.setting.default or "")

    def _textarea(self, item, value, siblings):
        item.value = display(value)

    def _group(self, item, value, siblings):
        item.children = self.inputs(item.setting.children, value or {}, prefix=f"{item.name}.")

    def _condition(self, item, value, siblings, where=False):
        if isinstance(value, str):
            item.value = value
            return
        if where:
            item.choices = field_choices(siblings.get("object") or "")
        known = {name for name, _ in item.choices} if where else None
        item.value = self.condition_node(value, item.name, where, known)
        item.extra["where"] = where
        item.extra["operators"] = OPERATOR_CHOICES

    def _where(self, item, value, siblings):
        self._condition(item, value, siblings, where=True)

    def condition_node(self, value, path: str, where: bool, known=None) -> ConditionNode:
        value = value if isinstance(value, dict) else {}
        join = "any" if "any" in value else "all"
        node = ConditionNode(path=path, join=join, errors=self.errors.for_path(path))
        self.errors.for_path(f"{path}.{join}")
        items = value.get(join) if isinstance(value.get(join), list) else []
        left_key, right_key = ("field", "value") if where else ("left", "right")
        for index, child in enumerate(items):
            child_path = f"{path}.{join}.{index}"
            if isinstance(child, dict) and ("all" in child or "any" in child):
                node.items.append(self.condition_node(child, child_path, where, known))
                continue
            child = child if isinstance(child, dict) else {}
            node.items.append(
                ConditionNode(
                    path=child_path,
                    leaf=True,
                    left=display(child.get(left_key)),
                    op=child.get("op") or "eq",
                    right=display(child.get(right_key)),
                    left_known=known is None or child.get(left_key) in known,
                    errors=self.errors.for_path(child_path),
                )
            )
        return node

    def _branches(self, item, value, siblings):
        value = value if isinstance(value, list) else []
        for index, branch in enumerate(value):
            branch = branch if isinstance(branch, dict) else {}
            path = f"{item.name}.{index}"
            item.rows.append(
                {
                    "path": path,
                    "index": index,
                    "name": branch.get("name") or "",
                    "name_errors": self.errors.for_path(f"{path}.name"),
                    "errors": self.errors.for_path(path),
                    "when": self.condition_node(branch.get("when"), f"{path}.when", False),
                    "steps": len(branch.get("next") or []),
                    "origin": branch.get("_from", index),
                }
            )
        item.extra["operators"] = OPERATOR_CHOICES

    def _form_fields(self, item, value, siblings):
        value = value if isinstance(value, list) else []
        for index, form_field in enumerate(value):
            form_field = form_field if isinstance(form_field, dict) else {}
            path = f"{item.name}.{index}"
            row = {
                "path": path,
                "index": index,
                "errors": self.errors.for_path(path),
                "name_errors": self.errors.for_path(f"{path}.name"),
                "options": display_options(form_field.get("options")),
                "required": bool(form_field.get("required")),
            }
            for key in ("name", "label", "placeholder", "default", "object"):
                row[key] = display(form_field.get(key))
            row["type"] = form_field.get("type") or "text"
            for key in ("type", "options", "object"):
                self.errors.for_path(f"{path}.{key}")
            item.rows.append(row)
        item.extra["types"] = FIELD_TYPES
        item.extra["objects"] = object_choices()


@dataclass
class Panel:
    """What `_panel.html` draws for one card."""

    step_id: str
    type: str
    label: str
    name: str
    inputs: list[PanelInput]
    on_error: PanelInput | None
    general_errors: list[str]
    known_type: bool = True


def build_panel(
    step_id: str,
    step: dict,
    *,
    settings: dict | None = None,
    messages=(),
    parse_errors: dict | None = None,
) -> Panel:
    """The panel of a step (`step_id` "trigger" for the trigger) showing `settings` (the
    stored ones unless given) with `messages` (validation's, for this step) and the form's
    own parse errors on their inputs."""
    step_type = step.get("type")
    schema = schema_of(step_id, step_type)
    settings = step.get("settings") if settings is None else settings
    errors = _Errors()
    builder = _InputBuilder(errors)
    inputs = builder.inputs(schema or (), settings or {})
    on_error = None
    if step_id != "trigger" and schema is not None:
        on_error = builder.input(ON_ERROR, {"on_error": step.get("on_error")}, "")
    for path, path_messages in (parse_errors or {}).items():
        errors.for_path(path).extend(path_messages)
    errors.deal(messages)
    general = list(errors.general)
    if schema is None:
        general.insert(0, f"Unknown type {step_type!r}: pick a type from the list.")
    return Panel(
        step_id=step_id,
        type=str(step_type or ""),
        label=type_label(step_id, step_type),
        name=str(step.get("name") or ""),
        inputs=inputs,
        on_error=on_error,
        general_errors=general,
        known_type=schema is not None,
    )


def __getattr__(name: str):
    # `from .panel import urlpatterns` (workflows/builder/urls.py) without a circular import.
    if name == "urlpatterns":
        from .panel_views import urlpatterns

        return urlpatterns
    raise AttributeError(name)
