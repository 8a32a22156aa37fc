"""CSV imports started from a list page (issue 17): upload and preview, then the import as a
background job whose progress the page polls, then a report of the rows it refused.

The rows go through `csv_io.import_csv`, exactly like an API import; this module only keeps
the file and the progress in an `ImportJob` so a worker can run it and a page can follow it.
"""

import csv
import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import activity, csv_io
from .models import ImportJob
from .objects import OBJECTS, RecordObject

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 5
# A file uploaded but never imported is dropped after this long (it may be 50 MB).
UNSTARTED_KEPT_FOR = timedelta(days=1)


def upload(obj: RecordObject, workspace, user, file, filename: str = "") -> ImportJob:
    """Checks the file as the import will and keeps it for the preview page; raises
    csv_io.CsvFormatError (or CsvTooLarge) with a message for the person, storing nothing."""
    content = file if isinstance(file, bytes) else file.read(csv_io.MAX_IMPORT_BYTES + 1)
    preview = csv_io.preview_csv(obj, content, sample=PREVIEW_ROWS)
    if not preview.total:
        raise csv_io.CsvFormatError("The file has a header but no rows to import.")
    ImportJob.objects.filter(
        workspace=workspace,
        status=ImportJob.Status.UPLOADED,
        created_at__lt=timezone.now() - UNSTARTED_KEPT_FOR,
    ).delete()
    return ImportJob.objects.create(
        workspace=workspace,
        object_name=obj.name,
        user=user if getattr(user, "pk", None) else None,
        filename=filename[:255],
        content=content,
        total=preview.total,
        preview={
            "header": preview.header,
            "fields": preview.fields,
            "rows": preview.rows,
        },
    )


def jobs_of(workspace):
    """Every read of import jobs goes through here: one workspace's jobs only."""
    return ImportJob.objects.filter(workspace=workspace).defer("content")


class ImportAlreadyStarted(Exception):
    pass


def start(job: ImportJob, fire_triggers: bool) -> ImportJob:
    """Queues the import of an uploaded file; it runs in a worker once this transaction
    commits (inline, still after the commit, when settings.CRM_IMPORT_INLINE is set)."""
    with transaction.atomic():
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
            status=ImportJob.Status.QUEUED, fire_triggers=fire_triggers, started_at=timezone.now()
        )
        if not claimed:  # a double click, or a second tab
            raise ImportAlreadyStarted("This import has already started.")
        transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    job.refresh_from_db()
    return job


def _enqueue(job_id) -> None:
    if settings.CRM_IMPORT_INLINE:
        run(job_id)
        return
    from django_q.tasks import async_task

    async_task("crm.tasks.run_import", str(job_id), q_options={"ack_failure": True})


def run(job_id) -> None:
    """Imports a queued job's file, saving the progress after each batch. Anything unexpected
    marks the job failed with a message rather than leaving it running for ever."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING
    )
    if not claimed:
        return  # already run (a redelivered task) or gone
    job = ImportJob.objects.select_related("workspace", "user").get(pk=job_id)
    obj = OBJECTS[job.object_name]
    content = bytes(job.content)

    def progress(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(done=done)

    try:
        with activity.acting_as(_actor_label(job), job.user):
            result = csv_io.import_csv(
                obj,
                job.workspace,
                content,
                user=job.user,
                fire_triggers=job.fire_triggers,
                progress=progress,
            )
    except csv_io.CsvFormatError as error:
        _finish(job, ImportJob.Status.FAILED, error=str(error))
        return
    except Exception:
        logger.exception("Import %s failed", job.pk)
        _finish(job, ImportJob.Status.FAILED, error="The import stopped on an unexpected error.")
        raise
    _finish(
        job,
        ImportJob.Status.DONE,
        created=result.created,
        done=result.total,
        failed_rows=_with_cells(content, result.errors),
    )


def give_up_if_stalled(job: ImportJob) -> ImportJob:
    """A job still unfinished after the longest a django-q2 task may run had its worker killed
    (or never found one): it is marked failed so its page stops waiting. The rows of the
    batches already inserted stay."""
    limit = timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
    if job.is_finished or job.started_at is None or timezone.now() - job.started_at < limit:
        return job
    unfinished = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=job.pk, status__in=unfinished).update(
        status=ImportJob.Status.FAILED,
        content=b"",
        finished_at=timezone.now(),
        error=f"The import did not finish within {limit.seconds // 60} minutes and was stopped; "
        "the rows imported until then are kept. Import the rest in smaller files.",
    )
    job.refresh_from_db()
    return job


def _actor_label(job: ImportJob) -> str:
    person = activity.person_label(job.user)
    return f"import by {person}" if person else "import"


def _with_cells(content: bytes, errors: list[dict]) -> list[dict]:
    cells = csv_io.original_rows(content, {error["row"] for error in errors}) if errors else {}
    return [{**error, "cells": cells.get(error["row"], [])} for error in errors]


def _finish(job: ImportJob, status: str, **fields) -> None:
    # The file is no longer needed: the report keeps the refused rows themselves.
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, content=b"", finished_at=timezone.now(), **fields
    )


# --- the error report -----------------------------------------------------------------------


class _LineBuffer:
    def write(self, value: str) -> str:
        return value


def error_report(job: ImportJob) -> Iterator[str]:
    """The refused rows as CSV: row number, column, message, then the row as the file had it
    (one line per message, so a spreadsheet can filter by column)."""
    header = job.preview.get("header", [])
    writer = csv.writer(_LineBuffer())
    yield writer.writerow(["row", "column", "message", *header])
    for failed in job.failed_rows:
        cells = [csv_io.safe_cell(cell) for cell in failed.get("cells", [])]
        for column, messages in failed["errors"].items():
            for message in messages:
                name = "" if column in ("detail", "non_field_errors") else column
                yield writer.writerow([failed["row"], name, csv_io.safe_cell(message), *cells])
