"""Admin for workflows and their runs: readable, and every action goes through services."""

from django import forms
from django.contrib import admin, messages

from . import secrets, services
from .models import (
    DateTriggerFiring,
    FormRequest,
    OutboxEmail,
    Secret,
    StepRun,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Runs and what they produced are history: readable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WorkspaceFixedAdmin(admin.ModelAdmin):
    """The workspace is chosen when an object is added and never changed: a workflow moved to
    another workspace would leave its versions, runs and secrets in the old one (and a secret
    moved would hand its value to another tenant)."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + ["workspace"] if obj is not None else fields


class VersionInline(admin.TabularInline):
    model = WorkflowVersion
    fields = ["number", "status", "trigger_type", "publisher", "published_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


def _run_service(modeladmin, request, queryset, action, verb):
    done = 0
    for obj in queryset:
        try:
            action(obj)
            done += 1
        except services.WorkflowError as error:
            modeladmin.message_user(request, f"{obj}: {error}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb} {done}.", messages.SUCCESS)


@admin.register(Workflow)
class WorkflowAdmin(WorkspaceFixedAdmin):
    list_display = ["name", "workspace", "status", "updated_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["name", "description"]
    readonly_fields = ["status", "webhook_token", "created_by", "created_at", "updated_at"]
    exclude = ["webhook_secret"]
    inlines = [VersionInline]
    actions = ["publish_draft", "activate", "deactivate"]

    @admin.action(description="Publish the draft")
    def publish_draft(self, request, queryset):
        _run_service(
            self, request, queryset, lambda w: services.publish(w, request.user), "Published"
        )

    @admin.action(description="Activate")
    def activate(self, request, queryset):
        _run_service(self, request, queryset, services.activate, "Activated")

    @admin.action(description="Deactivate")
    def deactivate(self, request, queryset):
        _run_service(self, request, queryset, services.deactivate, "Deactivated")


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "number", "status", "trigger_type", "publisher", "published_at"]
    list_filter = ["status", "trigger_type"]
    search_fields = ["workflow__name"]


class StepRunInline(admin.TabularInline):
    model = StepRun
    fields = [
        "sequence",
        "step_id",
        "scope",
        "type",
        "status",
        "attempts",
        "error",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["sequence"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkflowRun)
class WorkflowRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "workflow", "status", "source", "depth", "created_at", "finished_at"]
    list_filter = ["status", "source", "workspace"]
    search_fields = ["id", "workflow__name", "error"]
    list_select_related = ["workflow"]
    inlines = [StepRunInline]
    actions = ["cancel", "retry"]

    @admin.action(description="Cancel")
    def cancel(self, request, queryset):
        _run_service(self, request, queryset, services.cancel_run, "Cancelled")

    @admin.action(description="Retry from the failed step")
    def retry(self, request, queryset):
        _run_service(
            self, request, queryset, lambda r: services.retry_run(r, request.user), "Retried"
        )


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdmin):
    list_display = ["step_id", "run", "type", "status", "attempts", "iteration", "started_at"]
    list_filter = ["status", "type"]
    search_fields = ["step_id", "run__id"]


class SecretForm(forms.ModelForm):
    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Write-only: leave empty to keep the current value.",
    )

    class Meta:
        model = Secret
        fields = ["workspace", "name", "value"]

    def clean_name(self):
        name = secrets.normalise_name(self.cleaned_data["name"])
        errors = secrets.name_errors(name)
        if errors:
            raise forms.ValidationError(errors["name"])
        return name

    def clean_value(self):
        value = self.cleaned_data["value"]
        if not value and self.instance.pk:
            return self.instance.value
        if not value:
            raise forms.ValidationError("A new secret needs a value.")
        return value


@admin.register(Secret)
class SecretAdmin(WorkspaceFixedAdmin):
    form = SecretForm
    list_display = ["name", "workspace", "masked", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["name"]


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdmin):
    list_display = ["subject", "to", "status", "run", "step_id", "attempt", "created_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["subject", "message_id"]


@admin.register(FormRequest)
class FormRequestAdmin(ReadOnlyAdmin):
    list_display = ["title", "workspace", "status", "assignee", "created_at", "submitted_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["title"]


@admin.register(DateTriggerFiring)
class DateTriggerFiringAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "record_id", "due", "run", "created_at"]
