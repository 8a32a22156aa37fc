"""Declared settings: what each step type and trigger kind accepts, written once.

Every step handler (`StepHandler.settings_schema`) and trigger kind declares its settings as a
tuple of `Setting`s. Three readers use the one declaration:

- validation (`schema_problems`): required values, types and choices, with messages that name
  the setting's dotted path (`offset.unit`, `on_error.retry`); a handler's `validate_settings`
  adds only the checks a declaration cannot say (cross-field rules, known fields of an object);
- the builder's settings panel, which draws one input per setting by its `kind`, named by the
  dotted path inside `settings` (SPEC 8.1), with "Insert variable" beside those that take
  templates;
- the variable picker, which reads `outputs` of handlers for what a step offers later steps.

A new step type therefore appears in the builder, and is validated, with no page code.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crm.objects import OBJECTS

from . import conditions

# Kinds of input. Scalars:
#   text, textarea, number, integer, boolean, choice, datetime_local, timezone, cron
# CRM pickers (from crm.objects): object, field (a field of the chosen `object`),
#   fields (a list of them)
# Structured editors: condition (all/any groups of left/op/right), where (all/any of
#   field/op/value), values (one input per field of the chosen object), keyvalue (name: template),
#   code (a code editor), json (any JSON, edited as text), form_fields (the form designer),
#   branches (if/else branches), step_ids (targets; drawn as edges, never as inputs),
#   tags (a list of text, or text split on commas), text_list (the same for addresses:
#   `to`, `cc`), group (nested `children`)
KINDS = frozenset(
    {
        "text_list",
        "text",
        "textarea",
        "number",
        "integer",
        "boolean",
        "choice",
        "datetime_local",
        "timezone",
        "cron",
        "object",
        "field",
        "fields",
        "condition",
        "where",
        "values",
        "keyvalue",
        "code",
        "json",
        "form_fields",
        "branches",
        "step_ids",
        "tags",
        "group",
    }
)


@dataclass(frozen=True)
class Setting:
    """One setting of a step or trigger, as the panel shows it and validation checks it.

    - `templates`: the value may contain `{{ path }}` templates (the panel offers
      "Insert variable"; validation then accepts text where a number is declared).
    - `choices`: allowed values of a `choice` (value, label) pairs, or plain values.
    - `children`: the settings inside a `group` (e.g. `offset` {amount, unit, direction}).
    - `descending`: a `field` that also takes `-name` (sort from the highest or latest).
    - `show_if`: {"setting": value} — the panel shows this input only when a sibling has that
      value (e.g. `cron` only when `mode` is "cron"); validation skips hidden settings.
    """

    name: str
    kind: str
    label: str = ""
    required: bool = False
    templates: bool = False
    choices: tuple = ()
    default: Any = None
    help: str = ""
    placeholder: str = ""
    minimum: float | None = None
    maximum: float | None = None
    children: tuple["Setting", ...] = ()
    descending: bool = False
    show_if: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown setting kind {self.kind!r} for {self.name!r}")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def choice_values(self) -> list:
        return [c[0] if isinstance(c, tuple) else c for c in self.choices]


# The `on_error` options every step takes (SPEC section 4).
ON_ERROR = Setting(
    "on_error",
    "group",
    label="On error",
    children=(
        Setting("retry", "integer", label="Extra attempts", default=0, minimum=0, maximum=10),
        Setting(
            "backoff_s",
            "number",
            label="Seconds between attempts",
            default=0,
            minimum=0,
            maximum=3600,
        ),
        Setting("continue", "boolean", label="Continue the run when it still fails"),
    ),
)


def _is_template(value) -> bool:
    return isinstance(value, str) and "{{" in value


def _type_problem(setting: Setting, value, path: str) -> str | None:
    """A message when `value` has the wrong type for `setting`, else None."""
    kind = setting.kind
    if setting.templates and _is_template(value):
        return None
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{path} must be a number."
        if kind == "integer" and value != int(value):
            return f"{path} must be a whole number."
        if setting.minimum is not None and value < setting.minimum:
            return f"{path} must be at least {setting.minimum:g}."
        if setting.maximum is not None and value > setting.maximum:
            return f"{path} must be at most {setting.maximum:g}."
    elif kind == "boolean" and not isinstance(value, bool):
        return f"{path} must be true or false."
    elif kind == "choice" and value not in setting.choice_values():
        allowed = ", ".join(str(c) for c in setting.choice_values())
        return f"{path} must be one of {allowed}."
    elif kind in ("text", "textarea", "code", "datetime_local", "timezone", "cron", "field"):
        if not isinstance(value, str):
            return f"{path} must be text."
    elif kind == "object":
        if value not in OBJECTS:
            return f"Unknown object {value!r}; use one of {', '.join(OBJECTS)}."
    elif kind in ("fields", "step_ids") and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return f"{path} must be a list of names."
    elif kind in ("keyvalue", "values", "group") and not isinstance(value, dict):
        return f"{path} must be an object."
    elif kind in ("branches", "form_fields") and not isinstance(value, list):
        return f"{path} must be a list."
    elif kind == "tags" and not (isinstance(value, str | list)):
        return f"{path} must be a list of tags or text split on commas."
    elif kind == "text_list" and not (
        isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    ):
        return f"{path} must be text, or a list of text."
    return None


def _object_of(settings: dict):
    """The record object a sibling `object` setting names, for field-aware kinds."""
    name = settings.get("object")
    return OBJECTS.get(name) if isinstance(name, str) else None


def _unknown_fields(obj, names, path: str) -> list[str]:
    known = set(obj.field_names)
    return [f"{path}: {obj.name} has no field '{name}'." for name in names if name not in known]


def _where_fields(where) -> list[str]:
    if not isinstance(where, dict):
        return []
    if "all" in where or "any" in where:
        items = where.get("all", where.get("any"))
        return [f for item in items or [] for f in _where_fields(item)]
    return [where.get("field")]


def _content_problems(setting: Setting, value, path: str, siblings: dict) -> list[str]:
    """Checks that read the record registry or the condition grammar (after the type check)."""
    kind = setting.kind
    if kind == "condition":
        return conditions.validate(value, where=path)
    if kind == "where":
        problems = conditions.validate(value, leaf_keys=("field", "op", "value"), where=path)
        obj = _object_of(siblings)
        if problems or obj is None:
            return problems
        return _unknown_fields(obj, _where_fields(value), path)
    obj = _object_of(siblings)
    if obj is None:  # the object's own problem is reported on `object`
        return []
    if kind == "field":
        return _unknown_fields(obj, [value.lstrip("-")], path)
    if kind == "fields":
        return _unknown_fields(obj, value, path)
    if kind == "values":
        return _unknown_fields(obj, value.keys(), path)
    return []


def _visible(setting: Setting, siblings: dict) -> bool:
    return all(siblings.get(name) == value for name, value in setting.show_if.items())


def schema_problems(schema: Iterable[Setting], settings: dict, prefix: str = "") -> list[str]:
    """Problems of presence, type and choice for `settings` against its declaration.

    Messages start with the setting's dotted path, as the panel names its inputs (an unknown
    object names the objects instead). Object-aware kinds (`field`, `fields`, `values`,
    `where`) check names against the sibling `object` setting.
    """
    if not isinstance(settings, dict):
        return [f"{prefix.rstrip('.') or 'settings'} must be an object."]
    problems = []
    for setting in schema:
        if not _visible(setting, settings):
            continue
        path = prefix + setting.name
        value = settings.get(setting.name)
        if value is None or value == "" or value == []:
            if setting.required:
                problems.append(f"{path} is required.")
            continue
        problem = _type_problem(setting, value, path)
        if problem:
            problems.append(problem)
        elif setting.kind == "group":
            problems += schema_problems(setting.children, value, prefix=f"{path}.")
        elif not (setting.templates and _is_template(value)):
            problems += _content_problems(setting, value, path, settings)
    return problems


def defaults(schema: Iterable[Setting]) -> dict:
    """The settings a new step starts with: every declared default."""
    result = {}
    for setting in schema:
        if setting.kind == "group":
            inner = defaults(setting.children)
            if inner:
                result[setting.name] = inner
        elif setting.default is not None:
            result[setting.name] = setting.default
    return result
