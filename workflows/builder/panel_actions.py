"""The settings panel's row buttons: "Add condition", "Add group", "Add branch", "Add field"
and their "Remove" buttons post `_action` = `add:<list path>`, `add_group:<list path>` or
`remove:<item path>` (dotted, as inputs are named); the panel is drawn again with the change,
unsaved. What a new row holds follows from the declared kind of the setting it is in."""

import copy

from .panel_parse import BLANK_LEAF, BLANK_WHERE_LEAF

BLANK_FORM_FIELD = {"name": "", "label": "", "type": "text"}


def _blank(kind: str, parts: list[str], group: bool, settings: dict) -> dict:
    leaf = BLANK_WHERE_LEAF if kind == "where" else BLANK_LEAF
    if kind == "branches" and len(parts) == 1:
        number = len(settings.get("branches") or []) + 1
        return {
            "name": f"branch_{number}",
            "when": {"all": [dict(BLANK_LEAF)]},
            "next": [],
            "_from": "",
        }
    if kind == "form_fields" and len(parts) == 1:
        return dict(BLANK_FORM_FIELD)
    return {"all": [dict(leaf)]} if group else dict(leaf)


def _child(node, part: str, make_list: bool):
    """The container at `part` of `node`, created when missing (a list or a dict)."""
    if isinstance(node, list):
        index = int(part) if part.isdigit() else -1
        return node[index] if 0 <= index < len(node) else None
    if not isinstance(node, dict):
        return None
    if part in ("all", "any") and part not in node:
        other = "any" if part == "all" else "all"
        if other in node:  # the join was switched before the button was pressed
            part = other
    if not isinstance(node.get(part), list | dict):
        node[part] = [] if make_list else {}
    return node[part]


def apply_action(schema, settings: dict, action: str) -> dict:
    """`settings` with the row that `action` adds or removes (unchanged for anything else)."""
    verb, _, target = action.partition(":")
    parts = [p for p in target.split(".") if p]
    kinds = {s.name: s.kind for s in schema}
    if verb not in ("add", "add_group", "remove") or not parts or parts[0] not in kinds:
        return settings
    settings = copy.deepcopy(settings)
    if verb == "remove":
        parts, index = parts[:-1], parts[-1]
        if not parts or not index.isdigit():
            return settings
    node = settings
    for position, part in enumerate(parts):
        node = _child(
            node, part, make_list=position == len(parts) - 1 or parts[position + 1].isdigit()
        )
        if node is None:
            return settings
    if not isinstance(node, list):
        return settings
    if verb == "remove":
        if int(index) < len(node):
            node.pop(int(index))
    else:
        node.append(_blank(kinds[parts[0]], parts, verb == "add_group", settings))
    return settings
