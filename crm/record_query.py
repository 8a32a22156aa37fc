"""The one record-query module: how a list of records is filtered, searched and ordered.

Three callers compile through it, so they agree:
- the API list and CSV export read query parameters (`filter_records`: exact-field filters,
  `search`, `ordering`, SPEC section 7);
- the list pages apply their filters with `field_lookup` and their search box with `search_q`;
- the workflow find step compiles its `where` condition with `where_q` (SPEC section 4).

Every query-string value is parsed before it reaches the database, so a bad value (a malformed
UUID, an unknown stage, a date that is not one) is a `FilterError` the caller turns into a 400.
"""

import uuid
from collections.abc import Callable, Mapping

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import get_current_timezone, is_naive, make_aware

from .objects import RecordObject

# Query parameters that are not field filters.
RESERVED_PARAMS = frozenset({"page", "page_size", "search", "ordering", "format", "archived"})
# JSON fields have no meaningful exact match from a query string.
UNFILTERABLE = frozenset({"custom", "tags", "archived_at"})

TRUE_WORDS = frozenset({"true", "1", "yes", "on", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "f"})


class FilterError(ValueError):
    """A query parameter that cannot be applied: `errors` maps the parameter to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def filterable_fields(obj: RecordObject) -> list[str]:
    return [name for name in obj.field_names if name not in UNFILTERABLE]


def filter_records(obj: RecordObject, queryset: QuerySet, params: Mapping[str, str]) -> QuerySet:
    """Applies every filter, `search` and `ordering` in `params`; raises FilterError listing
    every bad parameter at once."""
    errors: dict[str, list[str]] = {}
    allowed = filterable_fields(obj)
    for name, raw in params.items():
        if "\x00" in str(raw):  # PostgreSQL cannot compare text with NUL in it
            errors[name] = ["Values cannot contain NUL characters."]
            continue
        if name in RESERVED_PARAMS:
            continue
        if name not in allowed:
            errors[name] = [f"Unknown filter. Filter by one of: {', '.join(allowed)}."]
            continue
        try:
            queryset = queryset.filter(field_lookup(obj, name, raw))
        except FilterError as error:
            errors.update(error.errors)
    term = (params.get("search") or "").strip()
    if term and "\x00" not in term:
        queryset = queryset.filter(search_q(obj, term))
    ordering = [part.strip() for part in (params.get("ordering") or "").split(",") if part.strip()]
    bad_order = [part for part in ordering if part.lstrip("-") not in allowed]
    if bad_order:
        errors["ordering"] = [
            f"Cannot order by {', '.join(bad_order)}. Order by one of: {', '.join(allowed)}, "
            "with '-' in front for descending."
        ]
    elif ordering:
        # created_at then id last, so pages are stable when the sort key has ties.
        queryset = queryset.order_by(*ordering, "-created_at", "-id")
    if errors:
        raise FilterError(errors)
    return queryset


def search_q(obj: RecordObject, text: str) -> Q:
    """Every word of `text` must appear (case-insensitively) in one of the search fields."""
    query = Q()
    for word in text.split():
        match = Q()
        for field in obj.search_fields:
            match |= Q(**{f"{field}__icontains": word})
        query &= match
    return query


def field_lookup(obj: RecordObject, name: str, raw: str) -> Q:
    """The Q object for `?name=raw`; an empty value matches empty or null."""
    field = obj.model._meta.get_field(name)
    if raw == "":
        return Q(**{f"{name}__isnull": True}) if field.null else Q(**{name: ""})
    if isinstance(field, models.ForeignKey):
        return _relation_lookup(field, name, raw)
    return Q(**{_lookup_name(field, name, raw): _parse(field, name, raw)})


def _relation_lookup(field: models.ForeignKey, name: str, raw: str) -> Q:
    target = field.related_model
    if target is get_user_model():
        if "@" in raw:  # members are also addressed by email, as on writes
            return Q(**{f"{name}__email__iexact": raw.strip()})
        if not (raw.strip().isascii() and raw.strip().isdigit()):
            raise FilterError({name: ["Expected a user id or an email."]})
        return Q(**{f"{name}_id": int(raw)})
    return Q(**{f"{name}_id": _parse_uuid(name, raw, target._meta.verbose_name)})


def _lookup_name(field: models.Field, name: str, raw: str) -> str:
    # `?due_at=2025-03-01` means "due that day", not "due at midnight exactly".
    if isinstance(field, models.DateTimeField) and _try(parse_date, raw.strip()):
        return f"{name}__date"
    return name


def _parse(field: models.Field, name: str, raw: str):
    value = raw.strip()
    if isinstance(field, models.UUIDField):
        return _parse_uuid(name, value, "record")
    if isinstance(field, models.BooleanField):
        return _parse_bool(name, value)
    if field.choices:
        allowed = [str(choice) for choice, _ in field.flatchoices]
        if value not in allowed:
            raise FilterError(
                {name: [f"Unknown value '{value}'. Use one of: {', '.join(allowed)}."]}
            )
        return value
    if isinstance(field, models.DateTimeField):
        return _parse_datetime(name, value)
    if isinstance(field, models.DateField):
        parsed = _try(parse_date, value)
        if parsed is None:
            raise FilterError({name: ["Expected a date as YYYY-MM-DD."]})
        return parsed
    if isinstance(field, models.IntegerField | models.DecimalField | models.FloatField):
        try:
            number = field.to_python(value)
            field.run_validators(number)  # range and digits, as on a write
            return number
        except DjangoValidationError as error:
            raise FilterError({name: list(error.messages)}) from error
    return raw  # text fields match exactly, spaces included


def _parse_uuid(name: str, raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw.strip())
    except ValueError as error:
        raise FilterError({name: [f"Expected a {what} id (a UUID), got '{raw}'."]}) from error


def _parse_bool(name: str, raw: str) -> bool:
    word = raw.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise FilterError({name: ["Expected true or false."]})


def _parse_datetime(name: str, raw: str):
    date = _try(parse_date, raw)
    if date is not None:
        return date  # used with the `__date` lookup
    moment = _try(parse_datetime, _unmangle_datetime(raw))
    if moment is None:
        raise FilterError({name: ["Expected a date (YYYY-MM-DD) or an ISO 8601 date-time."]})
    return make_aware(moment, get_current_timezone()) if is_naive(moment) else moment


def _unmangle_datetime(raw: str) -> str:
    """Accepts `2025-03-01 10:00` and an unescaped `+02:00` offset, which a query string
    turns into a space."""
    if "T" not in raw:
        raw = raw.replace(" ", "T", 1)
    return raw.replace(" ", "+")


def _try(parse, value):
    """parse_date/parse_datetime return None on a bad format but raise on a bad value."""
    try:
        return parse(value)
    except ValueError:
        return None


# --- `where` conditions of the find step (SPEC section 4, "Templates and conditions") -------

WHERE_OPERATORS = {
    "eq": "exact",
    "ne": "exact",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "contains": "icontains",
    "not_contains": "icontains",
    "starts_with": "istartswith",
    "ends_with": "iendswith",
    "in": "in",
    "not_in": "in",
    "before": "lt",
    "after": "gt",
    "is_empty": "isnull",
    "is_not_empty": "isnull",
}
NEGATED = {"ne", "not_contains", "not_in"}
TEXT_TYPES = ("CharField", "TextField", "EmailField", "URLField")


def where_q(obj: RecordObject, where: dict, resolve: Callable = lambda value: value) -> Q:
    """Turns a `where` condition into a database filter. `resolve` renders a leaf's value (a
    template in a workflow); the result is only ever compared, never evaluated."""
    if "all" in where or "any" in where:
        combined = Q()
        for item in where.get("all", where.get("any", [])):
            part = where_q(obj, item, resolve)
            combined = combined & part if "all" in where else combined | part
        return combined
    field, op = where["field"], where["op"]
    value = resolve(where.get("value"))
    if op in ("is_empty", "is_not_empty"):
        empty = Q(**{f"{field}__isnull": True})
        if obj.model._meta.get_field(field).get_internal_type() in TEXT_TYPES:
            empty |= Q(**{field: ""})
        return empty if op == "is_empty" else ~empty
    if op in ("in", "not_in") and not isinstance(value, list):
        value = [part.strip() for part in str(value or "").split(",") if part.strip()]
    if value is None and op in ("eq", "ne"):
        query = Q(**{f"{field}__isnull": True})
    else:
        query = Q(**{f"{field}__{WHERE_OPERATORS[op]}": value})
    return ~query if op in NEGATED else query


def where_fields(where: dict) -> list[str]:
    """The field names a `where` condition reads."""
    if "all" in where or "any" in where:
        return [f for item in where.get("all", where.get("any", [])) for f in where_fields(item)]
    return [where.get("field")]
