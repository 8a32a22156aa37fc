"""Bulk actions of the list pages (issue 17): which records an action applies to, and the bulk
edit of owner and tags.

A bulk form posts either the ticked `record_ids`, or `select_all=matching` with `list_query`
(the list page's query string) for "Select all N matching": the records are then found again
here through the list's own RecordListForm, never from ids the browser sends.
"""

from dataclasses import dataclass, field

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from . import records
from .forms import RecordListForm
from .ids import parse_uuid
from .objects import RecordObject
from .serializers import TagsField

# The same ceiling as the API's `record_ids`: one request runs each record through a service.
MAX_BULK_RECORDS = 10_000


class TooManyRecords(Exception):
    pass


def selects_all_matching(post) -> bool:
    return post.get("select_all") == "matching"


def list_query(post) -> QueryDict:
    return QueryDict(post.get("list_query", "").lstrip("?"))


def selected_records(post, workspace, obj: RecordObject, archived: bool | None) -> list:
    """The records a bulk action posted in `post` applies to, in the workspace.

    `archived` is the state the action needs (False: live records, True: archived ones, None:
    either); with "all matching", the list's own view (All or Archived) must be that state,
    and records that changed state meanwhile are left out.
    """
    if not selects_all_matching(post):
        ids = [value for value in post.getlist("record_ids") if parse_uuid(value)]
        return list(obj.queryset(workspace, archived=archived).filter(pk__in=ids))
    query = RecordListForm(obj, workspace, list_query(post))
    if archived is not None and archived != query.show_archived:
        return []
    matching = query.apply(obj.queryset(workspace, archived=query.show_archived))
    found = list(matching[: MAX_BULK_RECORDS + 1])
    if len(found) > MAX_BULK_RECORDS:
        raise TooManyRecords(
            f"More than {MAX_BULK_RECORDS:,} {obj.label_plural.lower()} match; "
            "narrow the list with a search or a filter first."
        )
    return found


# --- bulk edit ------------------------------------------------------------------------------


def owner_field(obj: RecordObject) -> str | None:
    """The person a record belongs to: `owner`, or a task's `assignee`."""
    users = obj.serializer.users
    return users[0] if users else None


def has_tags(obj: RecordObject) -> bool:
    return "tags" in obj.field_names


def can_bulk_edit(obj: RecordObject) -> bool:
    return bool(owner_field(obj)) or has_tags(obj)


@dataclass
class BulkChange:
    """What the bulk edit dialog asks for. `owner` is a member's id, "" for nobody, or None
    to leave owners as they are."""

    owner: str | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.owner is None and not self.add_tags and not self.remove_tags


@dataclass
class BulkEditResult:
    changed: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)  # "<record>: <message>"


def parse_tags(text: str) -> list[str]:
    """Tags typed as "vip, partner", cleaned as the record's tags field cleans them; raises
    ValidationError (a tag too long, ...)."""
    return list(dict.fromkeys(TagsField().to_internal_value(text or "")))


def bulk_edit(obj: RecordObject, selected: list, workspace, change: BulkChange) -> BulkEditResult:
    """Applies `change` to each record through `records.update_record`, one at a time, so
    each write is validated, logged on the record's timeline and seen by record triggers.
    Records the change would leave as they are are not written."""
    result = BulkEditResult()
    for record in selected:
        data = _changes_for(obj, record, change)
        if not data:
            result.unchanged += 1
            continue
        try:
            records.update_record(obj, record, data, partial=True, workspace=workspace)
        except ValidationError as error:
            result.errors.append(f"{record}: {_first_message(error.detail)}")
            continue
        result.changed += 1
    return result


def _changes_for(obj: RecordObject, record, change: BulkChange) -> dict:
    data = {}
    user_field = owner_field(obj)
    if change.owner is not None and user_field:
        current = getattr(record, f"{user_field}_id")
        wanted = int(change.owner) if change.owner else None
        if current != wanted:
            data[user_field] = wanted
    if has_tags(obj) and (change.add_tags or change.remove_tags):
        current_tags = list(record.tags or [])
        removed = set(change.remove_tags)
        tags = [tag for tag in current_tags if tag not in removed]
        tags += [tag for tag in change.add_tags if tag not in tags and tag not in removed]
        if tags != current_tags:
            data["tags"] = tags
    return data


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        name, messages = next(iter(detail.items()))
        return f"{name}: {_first_message(messages)}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)
