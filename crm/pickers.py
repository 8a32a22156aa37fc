"""Searchable pickers of the record forms (issue 17): what a relation's combobox and the tags'
chips offer as a person types. Selectors only; crm/picker_views.py answers them over HTMX and
templates/crm/_picker.html, _tag_picker.html draw the widgets.

Every read goes through `RecordObject.queryset(workspace)`: another workspace's records and
archived ones are never offered.
"""

from collections import Counter
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from .forms import RELATED_ORDER
from .models import Company, Workspace
from .objects import BY_MODEL, OBJECTS, RecordObject
from .record_query import search_q
from .search import record_meta

# A listbox longer than this is a list to scroll, not a choice: typing narrows it.
PICKER_LIMIT = 20
MAX_QUERY_LENGTH = 200


def narrows_by_company(model: type[models.Model]) -> bool:
    """Whether records of `model` belong to a company, so a form that has chosen a company
    offers that company's ones first (an opportunity's point of contact, a task's person)."""
    try:
        company = model._meta.get_field("company")
    except FieldDoesNotExist:
        return False
    return company.is_relation and company.related_model is Company


@dataclass(frozen=True)
class PickerOption:
    value: str
    label: str
    meta: str = ""  # what tells two records of the same name apart (an email, a company)


@dataclass
class PickerResults:
    """The options of one picker listbox: those of the chosen company, then the others."""

    options: list[PickerOption] = field(default_factory=list)
    near: list[PickerOption] = field(default_factory=list)
    company: Company | None = None


class PickerQuery(forms.Form):
    """`?q=<text>&company=<id>` of a picker's request."""

    q = forms.CharField(required=False, max_length=MAX_QUERY_LENGTH, strip=True)
    company = forms.UUIDField(required=False)


def pick_records(
    obj: RecordObject,
    workspace: Workspace,
    text: str,
    company_id=None,
    limit: int = PICKER_LIMIT,
) -> PickerResults:
    """Live records of `obj` matching every word of `text`, at most `limit` of them; with a
    company (of the workspace) and an object that belongs to companies, that company's first."""
    matching = obj.queryset(workspace).filter(search_q(obj, text))
    matching = matching.order_by(*RELATED_ORDER.get(obj.model, ("-updated_at",)))
    results = PickerResults()
    if company_id and narrows_by_company(obj.model):
        results.company = OBJECTS["company"].queryset(workspace).filter(pk=company_id).first()
    if results.company is not None:
        results.near = _options(obj, matching.filter(company=results.company)[:limit])
        matching = matching.exclude(company=results.company)
    results.options = _options(obj, matching[: limit - len(results.near)])
    return results


def _options(obj: RecordObject, rows) -> list[PickerOption]:
    return [PickerOption(str(row.pk), str(row), record_meta(obj, row)) for row in rows]


def tagged_objects() -> list[RecordObject]:
    """The record objects that carry tags (companies, people, opportunities)."""
    return [obj for obj in OBJECTS.values() if _has_field(obj.model, "tags")]


def pick_tags(workspace: Workspace, text: str, exclude=(), limit: int = PICKER_LIMIT) -> list[str]:
    """The workspace's existing tags containing `text`, the most used first, leaving out
    those already chosen (`exclude`, compared without case)."""
    counts: Counter[str] = Counter()
    for obj in tagged_objects():
        rows = obj.queryset(workspace).exclude(tags=[]).values_list("tags", flat=True)
        # Tags are JSON lists: counted here rather than in SQL, the same on SQLite and PostgreSQL.
        for tags in rows.iterator():
            counts.update(tag for tag in tags if isinstance(tag, str))
    needle = text.strip().lower()
    chosen = {tag.strip().lower() for tag in exclude}
    offered = [tag for tag in counts if needle in tag.lower() and tag.lower() not in chosen and tag]
    offered.sort(key=lambda tag: (-counts[tag], tag.lower()))
    return offered[:limit]


def _has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def related_object(obj: RecordObject, name: str) -> RecordObject | None:
    """The record object a foreign key of `obj` points at, None for members and the rest."""
    model_field = obj.model._meta.get_field(name)
    if not model_field.is_relation:
        return None
    return BY_MODEL.get(model_field.related_model)
