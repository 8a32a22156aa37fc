"""Conditions: `{"all": [...]}` / `{"any": [...]}`, nestable, with leaves
`{"left": T, "op": OP, "right": T}` (SPEC section 4). Comparisons coerce numbers and ISO dates.
"""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from .templating import check as check_template
from .templating import render

OPERATORS = (
    "eq ne gt gte lt lte contains not_contains starts_with ends_with is_empty is_not_empty in "
    "not_in before after"
).split()
UNARY = {"is_empty", "is_not_empty"}


class ConditionError(ValueError):
    pass


def validate(condition: Any, leaf_keys=("left", "op", "right"), where: str = "when") -> list[str]:
    """Every problem with a condition's shape, as messages naming where it is."""
    if not isinstance(condition, Mapping):
        return [f"{where} must be an object with 'all' or 'any'."]
    groups = [key for key in ("all", "any") if key in condition]
    if groups:
        if len(groups) > 1 or len(condition) > 1:
            return [f"{where} must have exactly one of 'all' or 'any'."]
        items = condition[groups[0]]
        if not isinstance(items, list):
            return [f"{where}.{groups[0]} must be a list."]
        problems = []
        for index, item in enumerate(items):
            problems += validate(item, leaf_keys, f"{where}.{groups[0]}.{index}")
        return problems
    left_key, _, right_key = leaf_keys
    op = condition.get("op")
    if op not in OPERATORS:
        return [f"{where}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}."]
    if left_key not in condition:
        return [f"{where}: missing '{left_key}'."]
    problems = check_template(condition.get(left_key)) + check_template(condition.get(right_key))
    return [f"{where}: {problem}" for problem in problems]


def evaluate(condition: Mapping, data: Mapping) -> bool:
    """True when the condition holds for `data` (the template context)."""
    if "all" in condition:
        return all(evaluate(item, data) for item in condition["all"])
    if "any" in condition:
        return any(evaluate(item, data) for item in condition["any"])
    left = render(condition.get("left"), data)
    right = render(condition.get("right"), data)
    return compare(left, condition["op"], right)


def compare(left: Any, op: str, right: Any) -> bool:
    if op == "is_empty":
        return is_empty(left)
    if op == "is_not_empty":
        return not is_empty(left)
    if op in ("in", "not_in"):
        options = right if isinstance(right, list) else _split(right)
        found = any(_equal(left, option) for option in options)
        return found if op == "in" else not found
    if op in ("contains", "not_contains"):
        found = _contains(left, right)
        return found if op == "contains" else not found
    if op == "starts_with":
        return _text(left).lower().startswith(_text(right).lower())
    if op == "ends_with":
        return _text(left).lower().endswith(_text(right).lower())
    if op == "eq":
        return _equal(left, right)
    if op == "ne":
        return not _equal(left, right)
    ordered = _ordered_pair(left, right)
    if ordered is None:
        return False
    a, b = ordered
    return {
        "gt": a > b,
        "gte": a >= b,
        "lt": a < b,
        "lte": a <= b,
        "after": a > b,
        "before": a < b,
    }[op]


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _split(value: Any) -> list:
    if value is None:
        return []
    return [part.strip() for part in str(value).split(",")]


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, list):
        return any(_equal(item, right) for item in left)
    if isinstance(left, dict):
        return _text(right) in left
    return _text(right).lower() in _text(left).lower()


def as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            moment = parse_datetime(value.strip())
            if moment is None:
                day = parse_date(value.strip())
                moment = dt.datetime.combine(day, dt.time()) if day else None
        except ValueError:
            return None
        if moment is None:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _ordered_pair(left: Any, right: Any):
    a, b = as_number(left), as_number(right)
    if a is not None and b is not None:
        return a, b
    a, b = as_datetime(left), as_datetime(right)
    if a is not None and b is not None:
        return a, b
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def _equal(left: Any, right: Any) -> bool:
    if left == right:
        return True
    a, b = as_number(left), as_number(right)
    if a is not None and b is not None:
        return a == b
    a, b = as_datetime(left), as_datetime(right)
    if a is not None and b is not None:
        return a == b
    if isinstance(left, bool) or isinstance(right, bool):
        return _text(left).lower() == _text(right).lower()
    if left is None or right is None:
        return _text(left) == _text(right)
    return False
