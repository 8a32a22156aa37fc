"""API shapes of workflows, versions, runs, step runs and forms (SPEC section 7)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.permissions import can_manage

from .models import FormRequest, StepRun, Workflow, WorkflowRun, WorkflowVersion
from .openapi import GraphSerializer, graph_for_api


def webhook_path(workflow: Workflow) -> str:
    return f"/webhooks/{workflow.webhook_token}/"


class WorkflowSerializer(serializers.ModelSerializer):
    active_version = serializers.SerializerMethodField(
        help_text="The number of the version that runs; null before the first publish."
    )
    has_draft = serializers.SerializerMethodField(help_text="Whether a draft is being edited.")
    webhook_url = serializers.SerializerMethodField(
        help_text="Where senders POST, when the draft or active trigger is a webhook; else null."
    )
    webhook_secret = serializers.SerializerMethodField(
        help_text="The secret webhook senders sign with; null unless the caller is an owner, "
        "an admin or an API key."
    )
    form_url = serializers.SerializerMethodField(
        help_text="The public form's URL, when the trigger is `form_submitted`; else null."
    )

    class Meta:
        model = Workflow
        fields = [
            "id",
            "name",
            "description",
            "status",
            "active_version",
            "has_draft",
            "webhook_url",
            "form_url",
            "webhook_secret",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "created_at", "updated_at"]

    def _versions(self, workflow) -> list[WorkflowVersion]:
        # Prefetched by the view: one query for a whole page of workflows.
        return [v for v in workflow.versions.all() if v.status in ("draft", "active")]

    def get_active_version(self, workflow) -> int | None:
        return next((v.number for v in self._versions(workflow) if v.status == "active"), None)

    def get_has_draft(self, workflow) -> bool:
        return any(v.status == "draft" for v in self._versions(workflow))

    def get_webhook_url(self, workflow) -> str | None:
        if any(v.trigger_type == "webhook" for v in self._versions(workflow)):
            request = self.context.get("request")
            path = webhook_path(workflow)
            return request.build_absolute_uri(path) if request else path
        return None

    def get_form_url(self, workflow) -> str | None:
        if any(v.trigger_type == "form_submitted" for v in self._versions(workflow)):
            request = self.context.get("request")
            path = f"/f/{workflow.webhook_token}/"
            return request.build_absolute_uri(path) if request else path
        return None

    def get_webhook_secret(self, workflow) -> str | None:
        request = self.context.get("request")
        if workflow.webhook_secret_given:  # a sender-issued secret is write-only
            return None
        return workflow.webhook_secret if request and can_manage(request) else None


@extend_schema_field(GraphSerializer)
class GraphField(serializers.Field):
    def to_representation(self, value):
        return graph_for_api(value)


class VersionSerializer(serializers.ModelSerializer):
    published_by = serializers.SerializerMethodField()
    graph = GraphField(read_only=True)

    class Meta:
        model = WorkflowVersion
        fields = ["number", "status", "graph", "published_by", "published_at", "created_at"]

    def get_published_by(self, version) -> str | None:
        """The publisher's email, or `api key: <name>`; null for a draft."""
        return version.publisher or None


class StepRunSerializer(serializers.ModelSerializer):
    missing = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The `{{ path }}`s in the step's settings (conditions excepted) that resolved "
        "to nothing: a field the trigger or an earlier step did not have.",
    )

    class Meta:
        model = StepRun
        fields = [
            "step_id",
            "name",
            "type",
            "status",
            "input",
            "output",
            "error",
            "missing",
            "attempts",
            "iteration",
            "scope",
            "started_at",
            "finished_at",
        ]


class RunSerializer(serializers.ModelSerializer):
    version = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowRun
        fields = [
            "id",
            "workflow",
            "version",
            "status",
            "source",
            "depth",
            "created_at",
            "started_at",
            "finished_at",
            "error",
            "retry_of",
            "waiting_for",
            "dry_run",
        ]
        extra_kwargs = {
            "dry_run": {
                "help_text": "A test run whose record writes were rolled back and whose emails "
                "were kept unsent in the outbox."
            },
            "waiting_for": {"help_text": "What a `waiting` run waits for (a form, a delay)."},
            "depth": {
                "help_text": "1 for a run a person, schedule or webhook started; +1 for "
                "each run started by another run's writes."
            },
            "retry_of": {"help_text": "The failed run this one retries, if any."},
        }

    def get_version(self, run) -> int | None:
        return run.version.number


class RunDetailSerializer(RunSerializer):
    steps = StepRunSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "trigger_payload", "steps"]


class FormSerializer(serializers.ModelSerializer):
    assignee = serializers.SerializerMethodField()

    class Meta:
        model = FormRequest
        fields = ["id", "run", "title", "description", "fields", "assignee", "status", "created_at"]

    def get_assignee(self, form) -> str | None:
        """The assignee's email; null when any member may fill the form."""
        return form.assignee.email if form.assignee else None


class FormSubmissionSerializer(serializers.ModelSerializer):
    submitted_by = serializers.SerializerMethodField()

    class Meta:
        model = FormRequest
        fields = ["id", "run", "status", "values", "submitted_by", "submitted_at"]

    def get_submitted_by(self, form) -> str | None:
        """The submitter's email; null when submitted with an API key."""
        return form.submitted_by.email if form.submitted_by else None


class NotificationSerializer(serializers.Serializer):
    """A notification as SPEC section 8.1 names its keys (see notifications.as_item)."""

    id = serializers.UUIDField()
    title = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    link = serializers.CharField(allow_blank=True, help_text="A path in the app, or empty.")
    read = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance):
        from .notifications import as_item

        return as_item(instance)
