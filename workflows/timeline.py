"""What workflows add to a record's timeline (crm/activity.py): the runs about the record
and the emails those runs sent."""

from crm.activity import TimelineEntry

from .models import OutboxEmail
from .selectors import runs_for_record


def record_timeline_entries(sender, workspace, record, **kwargs) -> list[TimelineEntry]:
    runs = runs_for_record(workspace, record)
    entries = [
        TimelineEntry(
            run.created_at,
            "run",
            f"Workflow run: {run.workflow.name}",
            link=f"/runs/{run.pk}/",
            status=run.status,
        )
        for run in runs
    ]
    emails = OutboxEmail.objects.filter(workspace=workspace, run__in=runs).order_by("-created_at")
    entries += [
        TimelineEntry(
            email.sent_at or email.created_at,
            "email",
            f"Email: {email.subject}",
            detail=f"To {', '.join(email.to)}",
            status=email.status,
            link=f"/runs/{email.run_id}/",
        )
        for email in emails[:50]
    ]
    return entries
