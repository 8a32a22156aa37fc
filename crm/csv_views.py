"""CSV on the list pages (issue 17): "Export CSV" of the list as filtered, and the import
pages: upload, preview, the import's progress and its error report (crm/imports.py)."""

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import csv_io, imports
from .forms import RecordListForm, field_label
from .models import ImportJob
from .objects import OBJECTS, RecordObject
from .views import member_required


def _csv_response(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required
def record_export(request, object_name: str):
    """The list as the page shows it (search, filters, sort, Archived view), streamed."""
    obj = OBJECTS[object_name]
    query = RecordListForm(obj, request.workspace, request.GET)
    matching = query.apply(obj.queryset(request.workspace, archived=query.show_archived))
    filename = f"{obj.plural}-{timezone.now():%Y%m%d-%H%M}.csv"
    return _csv_response(csv_io.export_csv(obj, matching, request.workspace), filename)


# --- import ---------------------------------------------------------------------------------


@member_required
def import_upload(request, object_name: str):
    """Step 1: choose a file. A file the import would refuse is answered here, inline."""
    obj = OBJECTS[object_name]
    error = ""
    if request.method == "POST":
        file = request.FILES.get("file")
        if file is None:
            error = "Choose a CSV file to import."
        elif file.size > csv_io.MAX_IMPORT_BYTES:
            error = f"The file is larger than {csv_io.MAX_IMPORT_BYTES // (1024 * 1024)} MB."
        else:
            try:
                job = imports.upload(obj, request.workspace, request.user, file, file.name)
            except csv_io.CsvFormatError as problem:
                error = str(problem)
            else:
                return redirect(f"{obj.name}-import-job", pk=job.pk)
    context = {"obj": obj, "error": error, "columns": _importable_columns(obj)}
    return render(request, "crm/import_upload.html", context, status=400 if error else 200)


def _importable_columns(obj: RecordObject) -> list[str]:
    read_only = set(obj.serializer.Meta.read_only_fields)
    return [name for name in obj.field_names if name not in read_only]


def _job(request, obj: RecordObject, pk) -> ImportJob:
    job = get_object_or_404(imports.jobs_of(request.workspace), pk=pk, object_name=obj.name)
    return imports.give_up_if_stalled(job)


@member_required
def import_job(request, object_name: str, pk):
    """Step 2 and 3 on one address: the preview before "Import", the progress while it runs,
    the counts and the error report once it is done."""
    obj = OBJECTS[object_name]
    job = _job(request, obj, pk)
    return render(request, "crm/import_job.html", _job_context(obj, job))


def _job_context(obj: RecordObject, job: ImportJob) -> dict:
    preview = job.preview or {}
    header = preview.get("header", [])
    fields = preview.get("fields", [])
    mapping = [
        (column, field_label(obj, name) if name else None)
        for column, name in zip(header, fields, strict=False)
    ]
    rows = preview.get("rows", [])
    widest = max((len(row) for row in rows), default=0)
    return {
        "obj": obj,
        "job": job,
        "mapping": mapping,
        # Cells beyond the header (a row the import will refuse) still get a column.
        "extra_columns": range(max(widest - len(header), 0)),
        "sample_rows": preview.get("rows", []),
        "failed_count": len(job.failed_rows),
    }


@member_required
@require_POST
def import_start(request, object_name: str, pk):
    obj = OBJECTS[object_name]
    job = _job(request, obj, pk)
    try:
        imports.start(job, fire_triggers=request.POST.get("fire_triggers") == "on")
    except imports.ImportAlreadyStarted as problem:
        messages.info(request, str(problem))
    return redirect(f"{obj.name}-import-job", pk=job.pk)


@member_required
def import_progress(request, object_name: str, pk):
    """The progress fragment the job page polls (HTMX) until the import is finished."""
    obj = OBJECTS[object_name]
    job = _job(request, obj, pk)
    return render(request, "crm/_import_progress.html", _job_context(obj, job))


@member_required
def import_errors(request, object_name: str, pk):
    obj = OBJECTS[object_name]
    job = _job(request, obj, pk)
    if job.status != ImportJob.Status.DONE:
        raise Http404
    stem = (job.filename or obj.plural).rsplit(".", 1)[0]
    safe_stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:80] or obj.plural
    return _csv_response(imports.error_report(job), f"{safe_stem}-errors.csv")
