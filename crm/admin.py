"""Django admin for workspaces, members, API keys and the five record objects (SPEC section 8).

Record writes here are plain model saves, so `post_save` record triggers see them like any
other write. The admin form only adds what a superuser could otherwise get wrong: a record
must not link to another workspace's records or users.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from . import records
from .models import (
    ApiKey,
    Company,
    ImportJob,
    Meeting,
    Membership,
    Note,
    Opportunity,
    Person,
    Record,
    Task,
    Workspace,
)

RECORD_READONLY = ("id", "created_at", "updated_at", "created_by", "archived_at")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__email", "user__username", "workspace__name", "workspace__slug"]
    autocomplete_fields = ["user", "workspace"]
    list_select_related = ["user", "workspace"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """The key's hash is never shown. Adding a key issues it and shows it once, in a message."""

    list_display = ["name", "workspace", "prefix", "created_at", "last_used_at", "revoked"]
    list_filter = ["revoked", "workspace"]
    search_fields = ["name", "prefix", "workspace__name", "workspace__slug"]
    list_select_related = ["workspace"]
    autocomplete_fields = ["workspace"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["workspace", "name"]
        return ["workspace", "name", "prefix", "created_at", "last_used_at", "revoked"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["workspace", "prefix", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        issued, raw = ApiKey.issue(obj.workspace, name=obj.name)
        # The admin goes on with `obj` (log entry, redirect): make it the issued key.
        obj.pk, obj.key_hash, obj.prefix = issued.pk, issued.key_hash, issued.prefix
        obj.created_at = issued.created_at
        obj._state.adding = False
        messages.warning(
            request,
            f"New API key for {obj.workspace.slug}: {raw} — copy it now, it is not shown again.",
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        count = queryset.update(revoked=True)
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)


class RecordAdminForm(forms.ModelForm):
    """Rejects links to records or users of another workspace."""

    def clean(self):
        cleaned = super().clean()
        workspace = cleaned.get("workspace") or getattr(self.instance, "workspace", None)
        if workspace is None:
            return cleaned
        members = get_user_model().objects.filter(memberships__workspace=workspace)
        for field in self.instance._meta.fields:
            value = cleaned.get(field.name)
            if value is None or not field.is_relation or field.name in ("workspace", "created_by"):
                continue
            if isinstance(value, Record) and value.workspace_id != workspace.pk:
                self.add_error(field.name, "This record belongs to another workspace.")
            elif isinstance(value, get_user_model()) and not members.filter(pk=value.pk).exists():
                self.add_error(field.name, "This user is not a member of the workspace.")
        return cleaned


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "Live"), ("yes", "Archived")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(archived_at__isnull=self.value() == "no")
        return queryset


class RecordAdmin(admin.ModelAdmin):
    form = RecordAdminForm
    readonly_fields = RECORD_READONLY
    list_filter = ["workspace"]
    actions = ["archive", "restore"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["workspace"]
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        # Moving a record to another workspace would strand its links: not an edit.
        return (*RECORD_READONLY, "workspace") if obj else RECORD_READONLY

    def save_model(self, request, obj, form, change):
        if not change and request.user.pk:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), ArchivedFilter]

    @admin.action(description="Archive selected records")
    def archive(self, request, queryset):
        self._change_archived(request, queryset.filter(archived_at__isnull=True), archive=True)

    @admin.action(description="Restore selected records")
    def restore(self, request, queryset):
        self._change_archived(request, queryset.filter(archived_at__isnull=False), archive=False)

    def _change_archived(self, request, queryset, archive: bool):
        service = records.archive_record if archive else records.restore_record
        count = 0
        for record in queryset:  # one at a time, so each fires its record triggers
            try:
                service(record)
                count += 1
            except records.RecordStateConflict:
                continue
        verb = "Archived" if archive else "Restored"
        self.message_user(request, f"{verb} {count} record(s).", messages.SUCCESS)


@admin.register(Company)
class CompanyAdmin(RecordAdmin):
    list_display = ["name", "domain", "industry", "city", "country", "workspace", "created_at"]
    list_filter = ["workspace", "ideal_customer", "industry", "country"]
    search_fields = ["name", "domain", "city", "industry"]
    autocomplete_fields = ["workspace", "owner"]
    list_select_related = ["workspace"]


@admin.register(Person)
class PersonAdmin(RecordAdmin):
    list_display = ["__str__", "email", "job_title", "company", "city", "workspace", "created_at"]
    list_filter = ["workspace", "city"]
    search_fields = ["first_name", "last_name", "email", "job_title", "city"]
    autocomplete_fields = ["workspace", "company"]
    list_select_related = ["workspace", "company"]


@admin.register(Opportunity)
class OpportunityAdmin(RecordAdmin):
    list_display = ["name", "stage", "amount", "currency", "close_date", "company", "workspace"]
    list_filter = ["workspace", "stage", "currency"]
    search_fields = ["name", "company__name"]
    autocomplete_fields = ["workspace", "company", "point_of_contact", "owner"]
    list_select_related = ["workspace", "company"]


@admin.register(Task)
class TaskAdmin(RecordAdmin):
    list_display = ["title", "status", "due_at", "assignee", "workspace", "created_at"]
    list_filter = ["workspace", "status"]
    search_fields = ["title", "body"]
    autocomplete_fields = ["workspace", "company", "person", "opportunity", "assignee"]
    list_select_related = ["workspace", "assignee"]


@admin.register(Note)
class NoteAdmin(RecordAdmin):
    list_display = ["title", "company", "person", "opportunity", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["title", "body"]
    autocomplete_fields = ["workspace", "company", "person", "opportunity"]
    list_select_related = ["workspace", "company", "person", "opportunity"]


@admin.register(Meeting)
class MeetingAdmin(RecordAdmin):
    list_display = ["title", "starts_at", "status", "location", "company", "workspace"]
    list_filter = ["workspace", "status"]
    search_fields = ["title", "location"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["workspace", "company", "opportunity", "owner", "attendees"]
    list_select_related = ["workspace", "company"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Readable only: a job changes through crm/imports.py, never by hand."""

    list_display = ["filename", "object_name", "status", "total", "done", "created", "workspace"]
    list_filter = ["status", "object_name", "workspace"]
    list_select_related = ["workspace"]
    exclude = ["content"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
