"""Find anything (Ctrl/⌘+K): the records of every object, and what other apps register.

crm never imports workflows, so the workflows app adds its own hits with `register_provider`
(workflows/search.py, connected in its AppConfig.ready).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse

from .objects import OBJECTS, RecordObject
from .record_query import search_q

RESULTS_PER_GROUP = 5
MIN_QUERY_LENGTH = 1


@dataclass(frozen=True)
class SearchHit:
    name: str
    url: str
    meta: str = ""
    avatar: str = ""  # "person" or "company": which avatar chip the result shows


@dataclass(frozen=True)
class SearchGroup:
    label: str
    hits: list[SearchHit]
    icon: str = ""  # an icon name of crm_pages.ICONS, or
    obj: RecordObject | None = None  # the record object whose icon the group shows


SearchProvider = Callable[[object, str, int], SearchGroup | None]
_providers: list[SearchProvider] = []


def register_provider(provider: SearchProvider) -> None:
    """Adds `provider(workspace, query, limit) -> SearchGroup | None` to every search."""
    if provider not in _providers:
        _providers.append(provider)


def matching(obj: RecordObject, queryset: QuerySet, text: str) -> QuerySet:
    """Records whose search fields contain every word of `text` (in any of those fields)."""
    return queryset.filter(search_q(obj, text))


def search_everything(workspace, text: str, limit: int = RESULTS_PER_GROUP) -> list[SearchGroup]:
    """Groups of hits for `text` in `workspace`: one per object that has any, then the rest."""
    text = text.strip()
    if len(text) < MIN_QUERY_LENGTH:
        return []
    groups = [_record_group(obj, workspace, text, limit) for obj in OBJECTS.values()]
    groups += [provider(workspace, text, limit) for provider in _providers]
    return [group for group in groups if group and group.hits]


def _record_group(obj: RecordObject, workspace, text: str, limit: int) -> SearchGroup:
    rows = matching(obj, obj.queryset(workspace), text).order_by("-updated_at")[:limit]
    hits = [
        SearchHit(
            name=str(row),
            url=reverse(f"{obj.name}-detail", args=[row.pk]),
            meta=record_meta(obj, row),
            avatar=obj.name if obj.name in ("person", "company") else "",
        )
        for row in rows
    ]
    return SearchGroup(obj.label_plural, hits, obj=obj)


def record_meta(obj: RecordObject, row) -> str:
    """The second line of a hit: what tells two records with the same name apart."""
    parts = {
        "company": [row_value(row, "domain"), row_value(row, "city")],
        "person": [row_value(row, "email"), row_value(row, "company")],
        "opportunity": [row_value(row, "company"), row_value(row, "get_stage_display")],
        "task": [row_value(row, "get_status_display")],
        "note": [row_value(row, "company"), row_value(row, "person")],
    }.get(obj.name, [])
    return " · ".join(part for part in parts if part)


def row_value(row, name: str) -> str:
    value = getattr(row, name, None)
    if callable(value):
        value = value()
    return str(value) if value else ""
