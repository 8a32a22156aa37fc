"""REST API for workflows, versions, runs and forms (SPEC section 7). Thin: every action calls
a service."""

from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from crm.ids import parse_uuid
from crm.permissions import CanManage, IsWorkspaceMember, request_workspace

from . import forms, runtime, services
from .models import FormRequest, StepRun, Workflow, WorkflowRun, WorkflowVersion
from .serializers import (
    FormSerializer,
    RunDetailSerializer,
    RunSerializer,
    VersionSerializer,
    WorkflowSerializer,
)
from .triggers.webhook import rotate_webhook_secret
from .validation import Problem

MAX_RECORD_IDS = 10_000


def problems_response(message: str, problems: list[Problem], code=status.HTTP_400_BAD_REQUEST):
    return Response({"detail": message, "errors": [p.as_dict() for p in problems]}, status=code)


def error_response(error: services.WorkflowError):
    if error.problems:
        return problems_response(str(error), error.problems)
    return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)


def request_user(request):
    return request.user if getattr(request.user, "pk", None) else None


class UUIDLookup:
    """A malformed id in the URL is a 404 like any unknown id, not a 500 or a 400."""

    def get_object(self):
        if parse_uuid(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)) is None:
            raise Http404
        return super().get_object()


class WorkflowViewSet(UUIDLookup, viewsets.ModelViewSet):
    serializer_class = WorkflowSerializer
    lookup_value_regex = "[^/]+"
    # Members read and run; owners and admins change (SPEC section 2).
    member_actions = {"run"}

    def get_permissions(self):
        if self.request.method in SAFE_METHODS or self.action in self.member_actions:
            return [IsWorkspaceMember()]
        return [CanManage()]

    def get_queryset(self):
        workflows = Workflow.objects.filter(workspace=request_workspace(self.request))
        workflows = workflows.prefetch_related(
            Prefetch(
                "versions",
                queryset=WorkflowVersion.objects.filter(status__in=["draft", "active"]).only(
                    "id", "workflow_id", "status", "number", "trigger_type"
                ),
            )
        )
        search = self.request.query_params.get("search")
        if search:
            workflows = workflows.filter(
                Q(name__icontains=search) | Q(description__icontains=search)
            )
        status_filter = self.request.query_params.get("status")
        if status_filter:
            workflows = workflows.filter(status=status_filter)
        return workflows

    def create(self, request, *args, **kwargs):
        data = request.data if isinstance(request.data, dict) else {}
        graph = data.get("graph")
        try:
            workflow = services.create_workflow(
                request_workspace(request),
                data.get("name"),
                user=request_user(request),
                graph=graph,
            )
        except services.WorkflowError as error:
            return error_response(error)
        if data.get("description"):
            workflow.description = str(data["description"])
            workflow.save(update_fields=["description"])
        return Response(
            self.get_serializer(self.get_queryset().get(pk=workflow.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def update(self, request, *args, **kwargs):
        workflow = self.get_object()
        data = request.data if isinstance(request.data, dict) else {}
        unknown = set(data) - {"name", "description"}
        if unknown:
            raise ValidationError({k: "This field cannot be changed here." for k in unknown})
        try:
            if "name" in data or not kwargs.get("partial"):
                services.rename_workflow(workflow, data.get("name"))
        except services.WorkflowError as error:
            return error_response(error)
        if "description" in data:
            workflow.description = str(data["description"] or "")
            workflow.save(update_fields=["description", "updated_at"])
        return Response(self.get_serializer(self.get_queryset().get(pk=workflow.pk)).data)

    def perform_destroy(self, workflow):
        services.delete_workflow(workflow)

    @action(detail=True, methods=["get", "put", "delete"])
    def draft(self, request, pk=None):
        workflow = self.get_object()
        if request.method == "GET":
            draft = workflow.draft
            if draft is None:
                return Response({"detail": "This workflow has no draft."}, status=404)
            return Response(draft.graph)
        if request.method == "DELETE":
            services.discard_draft(workflow)
            return Response(status=status.HTTP_204_NO_CONTENT)
        try:
            draft = services.save_draft(workflow, request.data)
        except services.WorkflowError as error:
            return error_response(error)
        return Response(draft.graph)

    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        problems = services.validate_draft(self.get_object())
        return Response({"valid": not problems, "errors": [p.as_dict() for p in problems]})

    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        try:
            version = services.publish(self.get_object(), user=request_user(request))
        except services.WorkflowError as error:
            return error_response(error)
        return Response(VersionSerializer(version).data)

    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        try:
            workflow = services.activate(self.get_object())
        except services.WorkflowError as error:
            return error_response(error)
        return Response(self.get_serializer(self.get_queryset().get(pk=workflow.pk)).data)

    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        workflow = services.deactivate(self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=workflow.pk)).data)

    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        versions = (
            WorkflowVersion.objects.filter(workflow=self.get_object(), number__isnull=False)
            .select_related("published_by")
            .order_by("-number")
        )
        return Response(
            {
                "results": VersionSerializer(versions, many=True).data,
                "next": None,
                "count": len(versions),
            }
        )

    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>\d+)/restore")
    def restore(self, request, pk=None, number=None):
        try:
            draft = services.restore_version(self.get_object(), int(number))
        except services.WorkflowError as error:
            return Response({"detail": str(error)}, status=404)
        return Response(draft.graph)

    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        workflow = self.get_object()
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"detail": "Send a JSON object."})
        record_ids = data.get("record_ids")
        if "record_id" in data:
            record_ids = [data["record_id"]]
        if record_ids is not None and (
            not isinstance(record_ids, list) or len(record_ids) > MAX_RECORD_IDS
        ):
            raise ValidationError({"record_ids": f"Give a list of at most {MAX_RECORD_IDS:,} ids."})
        payload = data.get("payload")
        if payload is not None and not isinstance(payload, dict):
            raise ValidationError({"payload": "payload must be a JSON object."})
        try:
            runs = services.start_manual_runs(workflow, request_user(request), record_ids, payload)
        except services.WorkflowError as error:
            return error_response(error)
        except runtime.ChainTooDeep as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response({"run_ids": [str(r.pk) for r in runs]}, status=202)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new webhook secret; the old one stops working (owners and admins)."""
        workflow = self.get_object()
        rotate_webhook_secret(workflow)
        return Response(self.get_serializer(self.get_queryset().get(pk=workflow.pk)).data)

    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        data = request.data if isinstance(request.data, dict) else {}
        try:
            run = services.start_test_run(
                self.get_object(), data.get("payload"), request_user(request)
            )
        except services.WorkflowError as error:
            return error_response(error)
        except runtime.ChainTooDeep as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response({"run_id": str(run.pk)}, status=202)


class RunViewSet(
    UUIDLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    lookup_value_regex = "[^/]+"

    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsWorkspaceMember()]
        return [CanManage()]

    def get_serializer_class(self):
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    def get_queryset(self):
        runs = WorkflowRun.objects.filter(workspace=request_workspace(self.request))
        runs = runs.select_related("version").order_by("-created_at")
        params = self.request.query_params
        if params.get("workflow"):
            workflow_id = parse_uuid(params["workflow"])
            if workflow_id is None:
                raise ValidationError({"workflow": "Not a valid workflow id."})
            runs = runs.filter(workflow_id=workflow_id)
        if params.get("status"):
            if params["status"] not in WorkflowRun.Status.values:
                raise ValidationError({"status": f"Use one of {WorkflowRun.Status.values}."})
            runs = runs.filter(status=params["status"])
        if params.get("source"):
            runs = runs.filter(source=params["source"])
        if self.action == "retrieve":
            runs = runs.prefetch_related(
                Prefetch("steps", queryset=StepRun.objects.order_by("sequence"))
            )
        return runs

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        try:
            run = services.cancel_run(self.get_object())
        except services.WorkflowError as error:
            return Response({"detail": str(error)}, status=409)
        return Response(RunSerializer(run).data)

    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        try:
            run = services.retry_run(self.get_object(), user=request_user(request))
        except services.WorkflowError as error:
            return Response({"detail": str(error)}, status=409)
        return Response({"run_id": str(run.pk)}, status=202)


class FormViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = FormSerializer
    permission_classes = [IsWorkspaceMember]
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return forms.pending_forms_for(request_workspace(self.request), request_user(self.request))

    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        workspace = request_workspace(request)
        form_id = parse_uuid(pk)
        if form_id is None:
            raise Http404
        form = get_object_or_404(FormRequest.objects.filter(workspace=workspace), pk=form_id)
        user = request_user(request)
        if user and form.assignee_id and form.assignee_id != user.pk:
            return Response({"detail": "This form is assigned to someone else."}, status=404)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            form = forms.submit_form(form, data.get("values"), user)
        except forms.FormAlreadySubmitted as error:
            return Response({"detail": str(error)}, status=409)
        except forms.FormInvalid as error:
            return Response({"detail": str(error), "errors": error.errors}, status=400)
        return Response(FormSerializer(form).data)
