"""Reading a settings panel's POST back into a settings dict (SPEC 8.1).

Inputs are named by the dotted path of their setting inside `settings` (`values.email`,
`where.all.0.field`, `branches.0.when.all.0.left`, `on_error.retry`); a number segment is a
list index. Names whose last segment starts with `_` are the panel's own (`where._join`,
`branches.0._from`) and never stored.

Each value is read by its declared `Setting.kind`, so one parser serves every step type:

- text becomes a string (empty inputs are left out), numbers and booleans are converted;
  what does not convert is kept as typed, so validation refuses it with publish's message
  ("limit must be a number.") instead of the panel quietly dropping it;
- a value shown unchanged keeps the type it was stored with (a `right: 0` from the API stays
  the number 0);
- what validation cannot see once stored (JSON that does not parse, a header without a
  name) is a parse error: the panel then stores nothing;
- edges (`step_ids`, a branch's `next`) are the canvas's: they are kept from the stored step,
  never read from the form.
"""

import json
from typing import Any

from ..conditions import UNARY
from ..settings_schema import Setting

MISSING = object()
TEXT_KINDS = {"text", "textarea", "code", "cron", "timezone", "datetime_local", "field", "choice"}
TEXT_KINDS |= {"object"}
BLANK_LEAF = {"left": "", "op": "eq", "right": ""}
BLANK_WHERE_LEAF = {"field": "", "op": "eq", "value": ""}


class ParseErrors(dict):
    """{input path: [messages]} for what the form sent that cannot be stored."""

    def add(self, path: str, message: str) -> None:
        self.setdefault(path, []).append(message)


def unflatten(post) -> dict:
    """The POST's dotted names as a tree; leaves are the lists of values sent for the name."""
    tree: dict = {}
    for key in post:
        if key in ("csrfmiddlewaretoken", "name", "revision", "_action"):
            continue
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # "a" and "a.b" both sent: the deeper one wins
                child = node[part] = {}
            node = child
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = post.getlist(key)
    return tree


def rows(node) -> list:
    """A posted list (`x.0.…`, `x.1.…`) in index order."""
    if not isinstance(node, dict):
        return []
    keys = sorted((k for k in node if k.isdigit()), key=int)
    return [node[k] for k in keys]


def last(values) -> str | None:
    if isinstance(values, list) and values:
        value = values[-1]
        return value.replace("\r\n", "\n") if isinstance(value, str) else value
    return None


def display(value: Any) -> str:
    """A stored value as a text input shows it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False)


def _keep(original: Any, text: str) -> Any:
    """The stored value when the input still shows it unchanged, else the text."""
    if original is not None and not isinstance(original, str) and display(original) == text:
        return original
    return text


def _is_template(text: str) -> bool:
    return "{{" in text


def _unset(setting: Setting, value) -> bool:
    if value is None or value == setting.default:
        return True
    return setting.kind == "boolean" and value is False and not setting.default


def _number(text: str, integer: bool):
    try:
        return int(text)
    except ValueError:
        pass
    if integer:
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    return number if number == number and abs(number) != float("inf") else text


class SettingsParser:
    """Reads one form's tree against a declaration. `keep_blank` keeps empty rows (a condition
    just added with "Add condition"), for re-drawing the form before it is saved."""

    def __init__(self, keep_blank: bool = False):
        self.keep_blank = keep_blank
        self.errors = ParseErrors()

    def settings(self, schema, tree: dict, stored: dict | None, prefix: str = "") -> dict:
        stored = stored if isinstance(stored, dict) else {}
        result = {}
        for setting in schema:
            value = self.value(
                setting, tree.get(setting.name), stored.get(setting.name), prefix + setting.name
            )
            if value is not MISSING:
                result[setting.name] = value
        declared = {s.name for s in schema}
        # Settings the declaration does not know (set through the API) are left as they were.
        result.update({k: v for k, v in stored.items() if k not in declared})
        return result

    def value(self, setting: Setting, node, stored, path: str):
        kind = setting.kind
        if kind == "step_ids":
            return stored if stored is not None else MISSING
        if kind == "group":
            return self.group(setting, node, stored, path)
        if kind in ("condition", "where"):
            if not isinstance(node, dict):
                return self.scalar_text(node, stored)
            return self.condition(node, stored, path, where=kind == "where") or MISSING
        if kind == "fields":
            return [v for v in node or [] if v] or MISSING
        reader = getattr(self, f"read_{kind}", None)
        if reader is not None:
            return reader(setting, node, stored, path)
        return self.scalar(setting, node, stored, path)

    # --- scalars --------------------------------------------------------------------------

    def scalar_text(self, node, stored):
        text = last(node)
        if text is None or text.strip() == "":
            return MISSING
        return _keep(stored, text)

    def scalar(self, setting: Setting, node, stored, path: str):
        text = last(node)
        if text is None or text.strip() == "":
            return MISSING
        kind = setting.kind
        if kind in ("number", "integer"):
            text = text.strip()
            if setting.templates and _is_template(text):
                return text
            return _number(text, integer=kind == "integer")
        if kind == "boolean":
            if text in ("true", "on"):
                return True
            if text == "false":
                return False
            return text
        if kind in ("text_list", "tags"):
            return _keep(stored, text)
        return text

    def read_json(self, setting: Setting, node, stored, path: str):
        text = last(node)
        if text is None or text.strip() == "":
            return MISSING
        if stored is not None and not isinstance(stored, str) and display(stored) == text:
            return stored
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            if setting.templates and not text.lstrip().startswith(("{", "[")):
                return text  # plain text (or one template) is allowed where templates are
            self.errors.add(path, f"{path} is not valid JSON: {error.msg} (line {error.lineno}).")
            return text

    def read_keyvalue(self, setting: Setting, node, stored, path: str):
        stored = stored if isinstance(stored, dict) else {}
        result = {}
        for index, row in enumerate(rows(node)):
            key = (last(row.get("key")) or "").strip()
            text = last(row.get("value")) or ""
            if not key:
                if text:
                    self.errors.add(f"{path}.{index}.key", f"{path}.{index}: give it a name.")
                continue
            result[key] = _keep(stored.get(key), text)
        return result or MISSING

    def read_values(self, setting: Setting, node, stored, path: str):
        stored = stored if isinstance(stored, dict) else {}
        result = {}
        for name, values in (node or {}).items():
            if name.startswith("_") or isinstance(values, dict):
                continue
            text = last(values)
            if text is not None and text != "":
                result[name] = _keep(stored.get(name), text)
        return result or MISSING

    # --- structures -----------------------------------------------------------------------

    def group(self, setting: Setting, node, stored, path: str):
        node = node if isinstance(node, dict) else {}
        inner = self.settings(setting.children, node, stored, prefix=f"{path}.")
        had = stored if isinstance(stored, dict) else {}
        for child in setting.children:  # defaults the stored group left out stay out
            if child.name in inner and child.name not in had and _unset(child, inner[child.name]):
                del inner[child.name]
        # A group left at its defaults is not set ("every" with no amount, untouched on_error).
        if all(_unset(c, inner.get(c.name)) for c in setting.children):
            if not (isinstance(stored, dict) and stored == inner):
                return MISSING
        return inner or MISSING

    def condition(self, node: dict, stored, path: str, where: bool, keep_empty=False):
        join = last(node.get("_join"))
        found = "all" if "all" in node else "any" if "any" in node else "all"
        join = join if join in ("all", "any") else found
        stored_items = stored.get(found, []) if isinstance(stored, dict) else []
        items = []
        for index, item in enumerate(rows(node.get(found))):
            before = stored_items[index] if index < len(stored_items) else None
            parsed = self.condition_item(item, before, f"{path}.{join}.{index}", where)
            if parsed is not None:
                items.append(parsed)
        if not items and not (self.keep_blank or keep_empty):
            return None
        return {join: items}

    def condition_item(self, item, stored, path: str, where: bool):
        if not isinstance(item, dict):
            return None
        if any(key in item for key in ("_join", "all", "any")):
            return self.condition(item, stored, path, where)
        left_key, right_key = ("field", "value") if where else ("left", "right")
        stored = stored if isinstance(stored, dict) else {}
        left = last(item.get(left_key)) or ""
        op = last(item.get("op")) or "eq"
        right = last(item.get(right_key)) or ""
        if not left.strip() and not right.strip() and not self.keep_blank:
            return None
        leaf = {left_key: _keep(stored.get(left_key), left), "op": op}
        if op not in UNARY:
            leaf[right_key] = _keep(stored.get(right_key), right)
        return leaf

    def read_branches(self, setting: Setting, node, stored, path: str):
        stored = stored if isinstance(stored, list) else []
        branches = []
        for index, row in enumerate(rows(node)):
            origin = last(row.get("_from"))
            before = (
                stored[int(origin)]
                if origin and origin.isdigit() and int(origin) < len(stored)
                else {}
            )
            before = before if isinstance(before, dict) else {}
            name = (last(row.get("name")) or "").strip()
            when_node = row.get("when") if isinstance(row.get("when"), dict) else {}
            when = self.condition(
                when_node, before.get("when"), f"{path}.{index}.when", False, keep_empty=True
            )
            branch = {"name": name, "when": when}
            if "next" in before or not before:  # a stored branch without `next` stays so
                branch["next"] = list(before.get("next") or [])
            if self.keep_blank:  # redrawn unsaved: remember which stored branch this row is
                branch["_from"] = origin or ""
            branches.append(branch)
        return branches or MISSING

    def read_form_fields(self, setting: Setting, node, stored, path: str):
        stored = stored if isinstance(stored, list) else []
        fields = []
        for index, row in enumerate(rows(node)):
            before = (
                stored[index] if index < len(stored) and isinstance(stored[index], dict) else {}
            )
            field = self.form_field(row, before)
            if field is not None:
                fields.append(field)
        return fields or MISSING

    def form_field(self, row: dict, before: dict):
        name = (last(row.get("name")) or "").strip()
        label = (last(row.get("label")) or "").strip()
        if not name and not label and not self.keep_blank:
            return None
        field = {"name": name, "label": label, "type": last(row.get("type")) or "text"}
        if last(row.get("required")) == "true":
            field["required"] = True
        for key in ("placeholder", "default"):
            text = last(row.get(key)) or ""
            if text:
                field[key] = _keep(before.get(key), text)
        options = last(row.get("options")) or ""
        if options.strip():
            if display_options(before.get("options")) == options:
                field["options"] = before["options"]
            else:
                field["options"] = [line.strip() for line in options.split("\n") if line.strip()]
        if field["type"] == "record":
            field["object"] = last(row.get("object")) or ""
        return field


def display_options(options) -> str:
    """A select's options as the form designer's textarea shows them: one per line."""
    if not isinstance(options, list):
        return ""
    lines = []
    for option in options:
        if isinstance(option, dict):
            lines.append(str(option.get("value", "")))
        else:
            lines.append(str(option))
    return "\n".join(lines)


def parse(schema, post, stored: dict | None, keep_blank: bool = False) -> tuple[dict, ParseErrors]:
    """The settings a POST describes, and what in it cannot be stored."""
    parser = SettingsParser(keep_blank=keep_blank)
    settings = parser.settings(schema, unflatten(post), stored)
    return settings, parser.errors
