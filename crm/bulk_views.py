"""The bulk edit of a list page's bulk bar: set the owner, add or remove tags (crm/bulk.py)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from . import bulk
from .objects import OBJECTS, RecordObject
from .views import member_required

KEEP = "keep"  # the owner select's "leave as it is"


@member_required
@require_POST
def record_bulk_edit(request, object_name: str):
    obj = OBJECTS[object_name]
    if not bulk.can_bulk_edit(obj):
        raise Http404
    back = _back_to_list(request, obj)
    try:
        change = _change_from(request.POST, obj)
    except ValidationError as error:
        messages.error(request, f"Nothing was changed: {_text(error.detail)}")
        return redirect(back)
    if change.is_empty:
        messages.info(request, "Choose an owner or tags to change first.")
        return redirect(back)
    try:
        selected = bulk.selected_records(request.POST, request.workspace, obj, archived=False)
    except bulk.TooManyRecords as error:
        messages.error(request, str(error))
        return redirect(back)
    if not selected:
        messages.info(request, f"Select the {obj.label_plural.lower()} to edit first.")
        return redirect(back)
    result = bulk.bulk_edit(obj, selected, request.workspace, change)
    _report(request, obj, result)
    return redirect(back)


def _change_from(post, obj: RecordObject) -> bulk.BulkChange:
    owner = post.get("owner", KEEP) or KEEP
    # A member's id: digits, few enough for a database integer (and for int() to accept).
    is_id = owner.isascii() and owner.isdigit() and len(owner) <= 18
    if owner not in (KEEP, "none") and not is_id:
        raise ValidationError({"owner": ["Choose a member of this workspace."]})
    if owner == KEEP or not bulk.owner_field(obj):
        owner = None
    return bulk.BulkChange(
        owner="" if owner == "none" else owner,
        add_tags=bulk.parse_tags(post.get("add_tags", "")) if bulk.has_tags(obj) else [],
        remove_tags=bulk.parse_tags(post.get("remove_tags", "")) if bulk.has_tags(obj) else [],
    )


def _report(request, obj: RecordObject, result: bulk.BulkEditResult) -> None:
    noun = obj.label.lower() if result.changed == 1 else obj.label_plural.lower()
    if result.changed:
        messages.success(request, f"Updated {result.changed} {noun}.")
    elif not result.errors:
        messages.info(
            request, f"Nothing to change: the selected {obj.label_plural.lower()} already match."
        )
    if result.errors:
        shown = "; ".join(result.errors[:3])
        more = f" and {len(result.errors) - 3} more" if len(result.errors) > 3 else ""
        messages.error(request, f"{len(result.errors)} not updated: {shown}{more}.")


def _back_to_list(request, obj: RecordObject) -> str:
    """The list as it was (search, filters, sort): the query string the bulk form carried."""
    query = bulk.list_query(request.POST).urlencode()
    return reverse(f"{obj.name}-list") + (f"?{query}" if query else "")


def _text(detail) -> str:
    if isinstance(detail, dict):
        return " ".join(f"{name}: {_text(value)}" for name, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_text(item) for item in detail)
    return str(detail)
