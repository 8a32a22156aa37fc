"""The record pages (SPEC section 8): dashboard, list, detail, create, edit, delete, and the
inline HTMX forms that add notes and tasks to a record.

Reads go through `RecordObject.queryset(workspace)`, writes through crm/records.py (via
crm/forms.RecordForm), so a record of another workspace is a 404 and validation is the API's.
"""

from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, Sum, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from . import activity, bulk, records
from .duplicates import duplicates_to_confirm
from .forms import LIST_FILTERS, RecordForm, RecordListForm, editable_fields, field_label
from .models import Stage, TaskStatus
from .objects import OBJECTS, RecordObject
from .search import search_everything
from .serializers import LINKS
from .signals import record_page_context

PAGE_SIZE = 25
# Related lists on a detail page: (object shown, its field pointing at the record).
RELATED_LISTS = {
    "company": [("person", "company"), ("opportunity", "company"), ("meeting", "company")],
    "person": [("opportunity", "point_of_contact"), ("meeting", "attendees")],
    "opportunity": [("meeting", "opportunity")],
}
RELATED_LIST_LIMIT = 50
INLINE_NOTE_FIELDS = ["title", "body"]
INLINE_TASK_FIELDS = ["title", "due_at", "assignee"]


def member_required(view):
    """Logged in and a member of a workspace; everything on the page is read in that one."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.workspace:
            return render(request, "crm/no_workspace.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _get_record(request, obj: RecordObject, pk):
    # By its id a record is found archived or not: its page offers to restore it.
    return get_object_or_404(obj.queryset(request.workspace, archived=None), pk=pk)


def _list_url(obj: RecordObject) -> str:
    return reverse(f"{obj.name}-list")


@member_required
def home(request):
    workspace = request.workspace
    now = timezone.now()
    open_tasks = OBJECTS["task"].queryset(workspace).exclude(status=TaskStatus.DONE)
    opportunities = OBJECTS["opportunity"].queryset(workspace)
    context = {
        "counts": [(obj, obj.queryset(workspace).count()) for obj in OBJECTS.values()],
        "pipeline": _pipeline_by_stage(opportunities),
        "tasks_due": open_tasks.filter(due_at__lte=now + timedelta(days=7)).order_by("due_at")[:8],
        "overdue_count": open_tasks.filter(due_at__lt=now).count(),
        "my_open_tasks": open_tasks.filter(assignee=request.user).count(),
        "open_pipeline": opportunities.exclude(stage__in=[Stage.WON, Stage.LOST]).aggregate(
            total=Sum("amount")
        )["total"]
        or 0,
        "recent_notes": OBJECTS["note"].queryset(workspace)[:5],
    }
    return render(request, "crm/home.html", context)


def _pipeline_by_stage(opportunities) -> list[dict]:
    """Count and amount of opportunities in each stage, in the pipeline's order."""
    totals = {
        row["stage"]: row
        for row in opportunities.order_by()
        .values("stage")
        .annotate(count=Count("id"), amount=Sum("amount"))
    }
    most = max([row["count"] for row in totals.values()] + [1])
    return [
        {
            "stage": stage,
            "label": label,
            "count": totals.get(stage, {}).get("count", 0),
            "amount": totals.get(stage, {}).get("amount") or 0,
            "percent": round(100 * totals.get(stage, {}).get("count", 0) / most),
        }
        for stage, label in Stage.choices
    ]


@member_required
def record_list(request, object_name: str):
    obj = OBJECTS[object_name]
    query = RecordListForm(obj, request.workspace, request.GET)
    matching = query.apply(obj.queryset(request.workspace, archived=query.show_archived))
    page = Paginator(matching, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "obj": obj,
        "query": query,
        "page": page,
        "columns": obj.list_columns,
        "is_filtered": bool(query.search or query.active_filters),
        "total": obj.queryset(request.workspace).count(),
        "archived_total": obj.queryset(request.workspace, archived=True).count(),
    }
    # Live search swaps only the table; a full load (or a shared link) gets the whole page.
    live = request.htmx and request.htmx.target == "list-results"
    response = render(
        request, "crm/_record_table.html" if live else "crm/record_list.html", context
    )
    # One URL, two answers: the browser's cache must not hand the fragment to a full load.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@member_required
def record_detail(request, object_name: str, pk):
    obj = OBJECTS[object_name]
    record = _get_record(request, obj, pk)
    context = {
        "obj": obj,
        "record": record,
        "detail_fields": editable_fields(obj),
        "related_lists": _related_lists(request.workspace, obj, record),
        "timeline": activity.timeline(request.workspace, record),
    } | record_page_context(request.workspace, record)
    if obj.name in LINKS:
        context |= _activity_context(request, obj, record)
    return render(request, "crm/record_detail.html", context)


def _related_lists(workspace, obj: RecordObject, record) -> list[dict]:
    sections = []
    for name, link in RELATED_LISTS.get(obj.name, []):
        related = OBJECTS[name]
        rows = related.queryset(workspace).filter(**{link: record})
        sections.append(
            {
                "obj": related,
                "rows": rows[:RELATED_LIST_LIMIT],
                "count": rows.count(),
                "columns": [column for column in related.list_columns if column != link][:4],
                "new_url": f"{reverse(f'{name}-new')}?{link}={record.pk}",
                # "View all" needs the list page to filter by that link.
                "all_url": f"{_list_url(related)}?{link}={record.pk}"
                if link in LIST_FILTERS.get(name, ())
                else None,
            }
        )
    return sections


def _activity_context(request, obj: RecordObject, record, note_form=None, task_form=None):
    """The tasks and notes linked to a record, with the inline forms that add more."""
    workspace = request.workspace
    link = {obj.name: record}
    open_first = Case(When(status=TaskStatus.DONE, then=Value(1)), default=Value(0))
    return {
        "tasks": OBJECTS["task"]
        .queryset(workspace)
        .filter(**link)
        .order_by(open_first, F("due_at").asc(nulls_last=True)),
        "notes": OBJECTS["note"].queryset(workspace).filter(**link),
        "note_form": note_form or RecordForm(OBJECTS["note"], workspace, fields=INLINE_NOTE_FIELDS),
        "task_form": task_form or RecordForm(OBJECTS["task"], workspace, fields=INLINE_TASK_FIELDS),
    }


@member_required
def record_field(request, object_name: str, pk, name: str):
    """Inline editing of one field on a detail page (HTMX): GET `?edit=1` answers the field's
    input, GET alone its value (Escape), POST saves it through the record service and answers
    the value, or the input again with the serialiser's errors beside it."""
    obj = OBJECTS[object_name]
    if name not in editable_fields(obj):
        raise Http404
    record = _get_record(request, obj, pk)
    form = RecordForm(
        obj,
        request.workspace,
        instance=record,
        data=request.POST if request.method == "POST" else None,
        fields=[name],
    )
    editing = request.method == "GET" and request.GET.get("edit") == "1"
    duplicates = duplicates_to_confirm(form, request.POST)
    if request.method == "POST":
        saved = not duplicates and form.save(user=request.user)
        if saved:
            messages.success(request, f"{field_label(obj, name)} saved.")
            record = _get_record(request, obj, pk)  # relations' names as the page shows them
        editing = not saved
    context = {"obj": obj, "record": record, "name": name, "form": form, "duplicates": duplicates}
    template = "crm/_field_edit.html" if editing else "crm/_field_row.html"
    return render(request, template, context)


@member_required
def record_create(request, object_name: str):
    obj = OBJECTS[object_name]
    # New records are the creator's (owner, assignee) until changed; "Add person" on a
    # company page links here with ?company=<id>, so the form starts filled in with it.
    initial = {name: str(request.user.pk) for name in obj.serializer.users}
    form = RecordForm(
        obj,
        request.workspace,
        initial=initial | request.GET.dict(),
        data=request.POST if request.method == "POST" else None,
    )
    duplicates = duplicates_to_confirm(form, request.POST)
    if form.is_bound and not duplicates and (record := form.save(user=request.user)):
        messages.success(request, f"{obj.label} “{record}” created.")
        return redirect(f"{obj.name}-detail", pk=record.pk)
    context = {"obj": obj, "form": form, "duplicates": duplicates}
    return render(request, "crm/record_form.html", context)


@member_required
def record_edit(request, object_name: str, pk):
    obj = OBJECTS[object_name]
    record = _get_record(request, obj, pk)
    form = RecordForm(
        obj,
        request.workspace,
        instance=record,
        data=request.POST if request.method == "POST" else None,
    )
    duplicates = duplicates_to_confirm(form, request.POST)
    if form.is_bound and not duplicates and (saved := form.save(user=request.user)):
        messages.success(request, f"Saved changes to “{saved}”.")
        return redirect(f"{obj.name}-detail", pk=saved.pk)
    context = {"obj": obj, "form": form, "record": record, "duplicates": duplicates}
    return render(request, "crm/record_form.html", context)


@member_required
def record_delete(request, object_name: str, pk):
    obj = OBJECTS[object_name]
    record = _get_record(request, obj, pk)
    if request.method == "POST":
        records.delete_record(record)
        messages.success(request, f"{obj.label} “{record}” deleted.")
        return redirect(_list_url(obj))
    cascade = _cascade_counts(request.workspace, obj, [record])
    context = {"obj": obj, "doomed": [record], "cascade": cascade}
    return render(request, "crm/record_confirm_delete.html", context)


@member_required
@require_POST
def record_bulk_delete(request, object_name: str):
    """Deletes the records ticked on a list page, after a confirmation page."""
    obj = OBJECTS[object_name]
    doomed = _ticked_records(request, obj, archived=None)
    if not doomed:
        messages.info(request, f"Select the {obj.label_plural.lower()} to delete first.")
        return redirect(_list_url(obj))
    if request.POST.get("confirmed") != "yes":
        cascade = _cascade_counts(request.workspace, obj, doomed)
        context = {"obj": obj, "doomed": doomed, "cascade": cascade, "bulk": True}
        if bulk.selects_all_matching(request.POST):  # confirmed, the query runs again
            context["list_query"] = bulk.list_query(request.POST).urlencode()
        return render(request, "crm/record_confirm_delete.html", context)
    # One at a time through the service, so each deletion fires its record triggers.
    for record in doomed:
        records.delete_record(record)
    noun = obj.label if len(doomed) == 1 else obj.label_plural.lower()
    messages.success(request, f"Deleted {len(doomed)} {noun}.")
    return redirect(_list_url(obj))


def _ticked_records(request, obj: RecordObject, archived: bool | None) -> list:
    """The ticked records, or every record the list matches ("Select all N matching")."""
    try:
        return bulk.selected_records(request.POST, request.workspace, obj, archived)
    except bulk.TooManyRecords as error:
        messages.error(request, str(error))
        return []


@member_required
@require_POST
def record_archive(request, object_name: str, pk):
    return _archive_or_restore(request, OBJECTS[object_name], pk, archive=True)


@member_required
@require_POST
def record_restore(request, object_name: str, pk):
    return _archive_or_restore(request, OBJECTS[object_name], pk, archive=False)


def _archive_or_restore(request, obj: RecordObject, pk, archive: bool):
    record = _get_record(request, obj, pk)
    try:
        (records.archive_record if archive else records.restore_record)(record)
    except records.RecordStateConflict as conflict:
        messages.info(request, str(conflict))
    else:
        verb = "archived" if archive else "restored"
        messages.success(request, f"{obj.label} “{record}” {verb}.")
    return redirect(f"{obj.name}-detail", pk=record.pk)


@member_required
@require_POST
def record_bulk_archive(request, object_name: str):
    return _bulk_archive_or_restore(request, OBJECTS[object_name], archive=True)


@member_required
@require_POST
def record_bulk_restore(request, object_name: str):
    return _bulk_archive_or_restore(request, OBJECTS[object_name], archive=False)


def _bulk_archive_or_restore(request, obj: RecordObject, archive: bool):
    """Archives (or restores) the ticked records one at a time through the service, so each
    fires its record triggers; records already in that state are left as they are."""
    service = records.archive_record if archive else records.restore_record
    ticked = _ticked_records(request, obj, archived=not archive)
    for record in ticked:
        try:
            service(record)
        except records.RecordStateConflict:
            continue  # changed meanwhile by someone else: already where it should be
    action = "archive" if archive else "restore"
    if not ticked:
        messages.info(request, f"Select the {obj.label_plural.lower()} to {action} first.")
    else:
        noun = obj.label if len(ticked) == 1 else obj.label_plural.lower()
        messages.success(request, f"{action.capitalize()}d {len(ticked)} {noun}.")
    return redirect(_list_url(obj) + ("" if archive else "?archived=1"))


def _cascade_counts(workspace, obj: RecordObject, doomed: list) -> dict[str, int]:
    """Tasks and notes linked to the records go with them (on_delete CASCADE)."""
    if obj.name not in LINKS:
        return {}
    link = {f"{obj.name}__in": doomed}
    return {
        OBJECTS[kind].plural: OBJECTS[kind].queryset(workspace).filter(**link).count()
        for kind in ("task", "note")
    }


@member_required
@require_POST
def add_note(request, object_name: str, pk):
    return _add_linked(request, object_name, pk, "note")


@member_required
@require_POST
def add_task(request, object_name: str, pk):
    return _add_linked(request, object_name, pk, "task")


def _add_linked(request, object_name: str, pk, kind: str):
    """Creates a note or task linked to the record; answers the section's fragment so HTMX
    swaps it in place (a plain form post falls back to the detail page)."""
    obj = OBJECTS[object_name]
    if obj.name not in LINKS:
        raise Http404
    record = _get_record(request, obj, pk)
    fields = INLINE_NOTE_FIELDS if kind == "note" else INLINE_TASK_FIELDS
    form = RecordForm(
        OBJECTS[kind],
        request.workspace,
        data=request.POST,
        fields=fields,
        links={obj.name: str(record.pk)},
    )
    created = form.save(user=request.user)
    if created:
        messages.success(request, f"{OBJECTS[kind].label} added.")
        form = None  # a fresh, empty form for the next one
    if not request.htmx:
        return redirect(f"{obj.name}-detail", pk=record.pk)
    forms = {f"{kind}_form": form}
    context = {"obj": obj, "record": record, **_activity_context(request, obj, record, **forms)}
    return render(request, f"crm/_{kind}s.html", context)


@member_required
@require_POST
def toggle_task(request, pk):
    """Ticks a task done (or opens it again) from a record page's task list."""
    task = _get_record(request, OBJECTS["task"], pk)
    status = TaskStatus.TODO if task.status == TaskStatus.DONE else TaskStatus.DONE
    task = records.update_record(
        OBJECTS["task"], task, {"status": status}, workspace=request.workspace
    )
    if not request.htmx:
        return redirect("task-detail", pk=task.pk)
    return render(request, "crm/_task_item.html", {"task": task})


@member_required
def search(request):
    """Ctrl/⌘+K: the results fragment for HTMX, or a whole page without JavaScript."""
    text = request.GET.get("q", "")[:200]
    context = {"groups": search_everything(request.workspace, text), "q": text.strip()}
    template = "crm/_search_results.html" if request.htmx else "crm/search.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
