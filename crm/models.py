"""Tenancy (workspaces, members, API keys) and the six record objects of SPEC section 2."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_manage(self) -> bool:
        """Owners and admins edit workflows, secrets and API keys (SPEC section 2)."""
        return self.role in (Role.OWNER, Role.ADMIN)


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A workspace API key. Only its SHA-256 is stored; the key itself is shown once."""

    PREFIX = "crm_"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="API key")
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a person can tell keys apart without seeing them.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, workspace: Workspace, name: str = "API key") -> tuple["ApiKey", str]:
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            workspace=workspace, name=name, key_hash=hash_api_key(raw), prefix=raw[:12]
        )
        return key, raw


class WorkspaceQuerySet(models.QuerySet):
    def in_workspace(self, workspace):
        return self.filter(workspace=workspace)


class Record(models.Model):
    """Fields every record object shares (SPEC section 2)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    custom = models.JSONField(default=dict, blank=True)
    # Archived records are a soft delete: kept, but out of lists, searches, find steps and
    # record triggers unless asked for (SPEC section 2). crm/records.py archives and restores.
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class Company(Record):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    linkedin = models.URLField(max_length=300, blank=True)
    ideal_customer = models.BooleanField(default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.JSONField(default=list, blank=True)

    class Meta(Record.Meta):
        verbose_name_plural = "companies"
        indexes = [models.Index(fields=["workspace", "name"])]

    def __str__(self) -> str:
        return self.name


class Person(Record):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    city = models.CharField(max_length=100, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    tags = models.JSONField(default=list, blank=True)

    class Meta(Record.Meta):
        verbose_name_plural = "people"
        indexes = [models.Index(fields=["workspace", "email"])]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email or "Unnamed person"


class Stage(models.TextChoices):
    NEW = "new", "New"
    QUALIFIED = "qualified", "Qualified"
    MEETING = "meeting", "Meeting"
    PROPOSAL = "proposal", "Proposal"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Opportunity(Record):
    name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    close_date = models.DateField(null=True, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    point_of_contact = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.JSONField(default=list, blank=True)

    class Meta(Record.Meta):
        verbose_name_plural = "opportunities"
        indexes = [models.Index(fields=["workspace", "stage"])]

    def __str__(self) -> str:
        return self.name


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class Linked(models.Model):
    """The optional links tasks and notes carry to a company, a person and an opportunity."""

    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss"
    )

    class Meta:
        abstract = True


class Task(Record, Linked):
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.TODO)
    due_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(Record.Meta):
        indexes = [models.Index(fields=["workspace", "due_at"])]

    def __str__(self) -> str:
        return self.title


class Note(Record, Linked):
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)

    class Meta(Record.Meta):
        pass

    def __str__(self) -> str:
        return self.title


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"
    DONE = "done", "Done"


class Meeting(Record):
    title = models.CharField(max_length=300)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    attendees = models.ManyToManyField(Person, blank=True, related_name="meetings")
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(Record.Meta):
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["workspace", "starts_at"])]

    def __str__(self) -> str:
        return self.title


class ActivityKind(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    ARCHIVED = "archived", "Archived"
    RESTORED = "restored", "Restored"


class Activity(models.Model):
    """One entry of a record's timeline, written by the record services (crm/activity.py).

    `changes` is {field: [before, after]} as shown to a person (related records by name);
    `actor` says who made the change: a person, "api key: <name>", "workflow: <name>",
    "import". Rows outlive nothing: a deleted record's entries go with it (record_id is not a
    foreign key, since one table serves every record object)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    object_name = models.CharField(max_length=30)
    record_id = models.UUIDField()
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    changes = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "record_id", "-created_at"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.object_name} {self.record_id} {self.kind}"


class ImportJob(models.Model):
    """A CSV import started from a list page (crm/imports.py): the uploaded file waits here
    between preview and import, so any worker can run it, and the page polls its progress.

    `failed_rows` lists each rejected row as {"row": n, "errors": {field: [messages]},
    "cells": [the row as the file had it]}; `preview` holds the header, the column mapping
    and the first rows shown before the import starts."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"  # previewed, waiting for "Import"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    object_name = models.CharField(max_length=30)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    filename = models.CharField(max_length=255, blank=True)
    # The file itself, emptied once the import has read it.
    content = models.BinaryField(blank=True, default=b"")
    fire_triggers = models.BooleanField(default=False)
    preview = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    failed_rows = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)  # why the whole import stopped, if it did
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)  # when "Import" was pressed
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"Import of {self.filename or 'a CSV'} ({self.object_name}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        return round(100 * self.done / self.total) if self.total else 0
