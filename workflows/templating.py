"""`{{ path }}` resolution (SPEC section 4), and nothing else.

Templates are data paths only: a path walks dict keys and list indexes of plain data. There
are no expressions, no attribute access and no second pass, so substituted values are never
evaluated again and no input can run code.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$|^\d+$")
ROOTS = ("trigger", "steps", "run", "workspace", "secrets", "now")


class TemplateError(ValueError):
    """A placeholder whose path is not a valid data path."""


def parse_path(path: str) -> list[str]:
    parts = path.split(".")
    if not path or any(not SEGMENT.match(part) for part in parts):
        raise TemplateError(
            f"'{{{{{path}}}}}' is not a data path: use names and list indexes joined by dots."
        )
    if parts[0] not in ROOTS:
        raise TemplateError(f"'{{{{{path}}}}}' must start with one of: {', '.join(ROOTS)}.")
    return parts


def lookup(data: Mapping, path: str) -> Any:
    """The value at `path` in `data`, or None when any part is missing."""
    value: Any = data
    for part in parse_path(path):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list | tuple) and part.isdigit():
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def render(value: Any, data: Mapping) -> Any:
    """Resolves every placeholder in `value` (a string, or lists and dicts of them).

    A string that is exactly one placeholder keeps the value's type; text with placeholders
    inside becomes a string.
    """
    if isinstance(value, str):
        return _render_text(value, data)
    if isinstance(value, list):
        return [render(item, data) for item in value]
    if isinstance(value, dict):
        return {key: render(item, data) for key, item in value.items()}
    return value


def _render_text(text: str, data: Mapping) -> Any:
    if "{{" not in text:
        return text
    whole = PLACEHOLDER.fullmatch(text.strip())
    if whole:
        return lookup(data, whole.group(1))
    return PLACEHOLDER.sub(lambda match: to_text(lookup(data, match.group(1))), text)


def placeholders(value: Any) -> list[str]:
    """Every path named in `value`, for validation and the variable picker."""
    if isinstance(value, str):
        return [match.group(1) for match in PLACEHOLDER.finditer(value)]
    if isinstance(value, list):
        return [path for item in value for path in placeholders(item)]
    if isinstance(value, dict):
        return [path for item in value.values() for path in placeholders(item)]
    return []


def missing_paths(value: Any, data: Mapping) -> list[str]:
    """The paths in `value` that resolve to nothing (absent or None), each once, in order.

    Paths that are not valid data paths are left to `check`.
    """
    missing: list[str] = []
    for path in placeholders(value):
        try:
            found = lookup(data, path)
        except TemplateError:
            continue
        if found is None and path not in missing:
            missing.append(path)
    return missing


def check(value: Any) -> list[str]:
    """Problems with the placeholders in `value` (bad paths), as messages."""
    problems = []
    for path in placeholders(value):
        try:
            parse_path(path)
        except TemplateError as error:
            problems.append(str(error))
    return problems
