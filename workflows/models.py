"""Workflows, their versions, runs and step runs (SPEC section 3), and the records the steps
keep: secrets, the email outbox, pending forms, date-trigger firings."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import Workspace


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Workflow(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INACTIVE)
    # The webhook address is /webhooks/<webhook_token>/; the secret signs or authenticates calls.
    webhook_token = models.CharField(max_length=64, unique=True, default=new_token)
    webhook_secret = models.CharField(max_length=200, default=new_token)
    # Set from a sender's own secret (`webhook-secret/` with `secret`): write-only, never shown.
    webhook_secret_given = models.BooleanField(default=False)
    # After a rotation the former secret still signs for an hour (senders switch over slowly).
    previous_webhook_secret = models.CharField(max_length=200, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def draft(self) -> "WorkflowVersion | None":
        return WorkflowVersion.objects.filter(workflow=self, status="draft").first()

    @property
    def active_version(self) -> "WorkflowVersion | None":
        return WorkflowVersion.objects.filter(workflow=self, status="active").first()


class WorkflowVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        DEACTIVATED = "deactivated"
        ARCHIVED = "archived"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    graph = models.JSONField(default=dict)
    # Goes up on every save of a draft: the builder sends it back with each edit, so an edit
    # made on a stale copy (another tab, another person) is refused rather than lost.
    revision = models.PositiveIntegerField(default=0)
    # Denormalised from the graph so trigger matching is one indexed query.
    trigger_type = models.CharField(max_length=40, blank=True, db_index=True)
    trigger_object = models.CharField(max_length=40, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The API key's name when a key published it (keys have no user); kept as text so the
    # history still names it after the key is revoked or deleted.
    published_by_key = models.CharField(max_length=100, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "number"],
                condition=Q(number__isnull=False),
                name="version_number_unique",
            ),
            models.UniqueConstraint(
                fields=["workflow"], condition=Q(status="draft"), name="one_draft_per_workflow"
            ),
            models.UniqueConstraint(
                fields=["workflow"], condition=Q(status="active"), name="one_active_per_workflow"
            ),
        ]

    def __str__(self) -> str:
        label = f"v{self.number}" if self.number else "draft"
        return f"{self.workflow} {label}"

    def save(self, *args, **kwargs):
        trigger = (self.graph or {}).get("trigger") or {}
        self.trigger_type = str(trigger.get("type") or "")[:40]
        self.trigger_object = str((trigger.get("settings") or {}).get("object") or "")[:40]
        super().save(*args, **kwargs)

    @property
    def publisher(self) -> str:
        """Who published it (SPEC section 7): the user's email, or `api key: <name>`."""
        if self.published_by_key:
            return f"api key: {self.published_by_key}"
        return self.published_by.email if self.published_by else ""


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class WorkflowRun(models.Model):
    class Source(models.TextChoices):
        TRIGGER = "trigger"
        MANUAL = "manual"
        TEST = "test"
        RETRY = "retry"

    Status = RunStatus
    FINISHED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="runs")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.TRIGGER)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger_payload = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Depth of the chain of runs that triggered this one (SPEC section 4: stops at 5).
    depth = models.PositiveSmallIntegerField(default=0)
    parent_run = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Engine bookkeeping: who holds the run, until when, and when a waiting run wakes up.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    resume_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # What a `waiting` run waits for (SPEC section 3): "delay until <time>" or "form <title>,
    # assigned to <who>".
    waiting_for = models.CharField(max_length=400, blank=True)
    # A test whose record writes are rolled back and whose emails stay unsent (workflows/
    # dry_run.py); only its step runs, its outbox rows and its outcome are kept.
    dry_run = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="run_claim_idx"),
            models.Index(fields=["workspace", "status"], name="run_ws_status_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="run_lease_idx"),
            models.Index(fields=["status", "resume_at"], name="run_resume_idx"),
            models.Index(fields=["workflow", "-created_at"], name="run_workflow_idx"),
        ]

    def __str__(self) -> str:
        return f"Run {self.id} of {self.workflow_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class StepRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"
        WAITING = "waiting"

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="steps")
    step_id = models.CharField(max_length=64)
    # Where in (nested) iterators this execution happened: "" at top level, "2" for item 2,
    # "2.0" for item 0 of an inner loop in item 2. Unique per run with step_id.
    scope = models.CharField(max_length=200, default="", blank=True)
    iteration = models.IntegerField(null=True, blank=True)
    sequence = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    # The real output when masking changed it, encrypted (workflows/sealed.py): what a
    # resumed or retried run reads instead of `***`.
    sealed_output = models.TextField(blank=True, default="", editable=False)
    error = models.TextField(blank=True)
    # Template paths in the step's settings that resolved to nothing (conditions excluded).
    missing = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "step_id", "scope"], name="one_step_run_per_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step_id}[{self.scope}] {self.status}"


class DraftSnapshot(models.Model):
    """One step of a workflow's undo or redo stack: a draft graph as it was before an edit
    (undo) or before an undo (redo). Kept in the database so undo survives a reload."""

    class Stack(models.TextChoices):
        UNDO = "undo"
        REDO = "redo"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    stack = models.CharField(max_length=4, choices=Stack.choices)
    graph = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["workflow", "stack", "-id"], name="draft_snapshot_idx")]

    def __str__(self) -> str:
        return f"{self.stack} snapshot of {self.workflow_id}"


class Secret(models.Model):
    """A named workspace value, readable only by steps as {{secrets.NAME}} (SPEC section 4)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=100)
    value = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="secret_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked(self) -> str:
        return "•" * 8 + (self.value[-2:] if len(self.value) >= 12 else "")


class OutboxEmail(models.Model):
    """Every email a workflow sends, kept whatever the backend (SPEC section 1)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(
        WorkflowRun, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    step_id = models.CharField(max_length=64, blank=True)
    scope = models.CharField(max_length=200, blank=True, default="")
    attempt = models.PositiveSmallIntegerField(default=1)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=500)
    body = models.TextField(blank=True)
    html = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message_id = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    # Written by a dry run: kept to be read, never handed to the email backend.
    dry_run = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One email per step execution and attempt: a replay never sends twice.
            models.UniqueConstraint(
                fields=["run", "step_id", "scope", "attempt"], name="one_email_per_attempt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"


class FormRequest(models.Model):
    """A form a run waits on until a person fills it (SPEC section 4, step `form`)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUBMITTED = "submitted"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    class OnExpiry(models.TextChoices):
        FAIL = "fail"
        CONTINUE = "continue"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="forms")
    step_id = models.CharField(max_length=64)
    scope = models.CharField(max_length=200, blank=True, default="")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    fields = models.JSONField(default=list)
    # Who may fill it: `assignee` (a member), or every owner and admin (`assignee_role`
    # "admin"), or any member (neither).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee_role = models.CharField(max_length=10, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    on_expiry = models.CharField(max_length=10, choices=OnExpiry.choices, default=OnExpiry.FAIL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    values = models.JSONField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["run", "step_id", "scope"], name="one_form_per_step")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def assignee_text(self) -> str:
        if self.assignee_id:  # by name, as people are shown everywhere
            return self.assignee.get_full_name() or self.assignee.email
        return "owners and admins" if self.assignee_role == "admin" else "anyone"

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.status == self.Status.EXPIRED or bool(
            self.expires_at and self.expires_at <= timezone.now()
        )


class Notification(models.Model):
    """A message of a `notify` step to one member (SPEC section 8, the bell)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=300)
    message = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    run = models.ForeignKey(
        WorkflowRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    step_id = models.CharField(max_length=64, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "workspace", "read_at"], name="notification_unread_idx")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def read(self) -> bool:
        return self.read_at is not None


class DateTriggerFiring(models.Model):
    """Remembers that a `date_relative` workflow fired for a record and due time, so the
    periodic sweep starts exactly one run per (record, due time)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    record_id = models.CharField(max_length=64)
    due = models.DateTimeField()
    run = models.ForeignKey(WorkflowRun, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "record_id", "due"], name="one_firing_per_due_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} for {self.record_id} at {self.due:%Y-%m-%d %H:%M}"


class WebhookDelivery(models.Model):
    """A delivery id a webhook sender gave (GitHub, Shopify, Stripe, Standard Webhooks): a
    repeat of it answers with the first run and starts nothing (SPEC section 4)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    delivery_id = models.CharField(max_length=200)
    run = models.ForeignKey(WorkflowRun, null=True, blank=True, on_delete=models.SET_NULL)
    # Indexed: the minute sweep deletes the ids older than WEBHOOK_DELIVERY_KEEP_DAYS.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "delivery_id"], name="one_run_per_delivery")
        ]

    def __str__(self) -> str:
        return f"Delivery {self.delivery_id} of {self.workflow_id}"


class TriggerGeneration(models.Model):
    """One row whose number goes up whenever what workflows listen to may have changed (a
    workflow or a non-draft version saved or deleted). Each process caches its trigger index
    and compares this number at most once a second, so a workflow published through one
    process starts firing in every other process within that second."""

    number = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Trigger generation {self.number}"


class ScheduleState(models.Model):
    """Where a `schedule` workflow's ticks start from, and the last tick that started a run:
    a tick starts at most one run, however often the scheduler wakes the workflow up."""

    workflow = models.OneToOneField(
        Workflow, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # When the schedule was (re)armed: `every` ticks are counted from here, and no tick
    # before it ever fires.
    anchor = models.DateTimeField()
    last_scheduled_for = models.DateTimeField()

    def __str__(self) -> str:
        return f"Schedule of {self.workflow_id}, last tick {self.last_scheduled_for}"


class WebhookRateWindow(models.Model):
    """Accepted webhook calls of a workspace in one clock minute, when no Redis is configured:
    the count every web process shares (workflows/triggers/webhook_rate.py)."""

    workspace_id = models.BigIntegerField()
    window = models.BigIntegerField()  # minutes since the epoch
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace_id", "window"], name="one_rate_window")
        ]

    def __str__(self) -> str:
        return (
            f"{self.count} webhook calls of workspace {self.workspace_id} in minute {self.window}"
        )


from .live.models import LiveEvent  # noqa: E402, F401  (the embedded default's events table)
