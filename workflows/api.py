"""REST API for workflows, versions, runs and forms (SPEC section 7). Thin: every action calls
a service. Each operation documents itself with `extend_schema` (see crm/openapi.py)."""

from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from crm.api_common import Conflict, error_body
from crm.ids import parse_uuid
from crm.openapi import error_responses
from crm.permissions import CanManage, IsWorkspaceMember, request_workspace

from . import forms, runtime, services
from .builder import edits
from .models import FormRequest, StepRun, Workflow, WorkflowRun, WorkflowVersion
from .openapi import (
    FormSubmitSerializer,
    GraphSerializer,
    ManualRunSerializer,
    RunIdSerializer,
    RunIdsSerializer,
    TestRunSerializer,
    ValidationResultSerializer,
    WebhookSecretResultSerializer,
    WebhookSecretSerializer,
    WorkflowCreateSerializer,
    WorkflowUpdateSerializer,
    check_graph,
    graph_for_api,
)
from .serializers import (
    FormSerializer,
    FormSubmissionSerializer,
    RunDetailSerializer,
    RunSerializer,
    VersionSerializer,
    WorkflowSerializer,
)
from .triggers.form import rotate_address_token
from .triggers.webhook import rotate_webhook_secret, set_webhook_secret
from .validation import Problem

MAX_RECORD_IDS = 10_000


def problems_response(message: str, problems: list[Problem], code=status.HTTP_400_BAD_REQUEST):
    return Response(error_body(message, [p.as_dict() for p in problems]), status=code)


def error_response(error: services.WorkflowError):
    problems = error.problems or [Problem(str(error))]
    return problems_response(str(error), problems)


def json_object(request) -> dict:
    """The request's JSON body, which must be an object (an empty body is `{}`)."""
    if not isinstance(request.data, dict):
        raise ValidationError({"detail": "Send a JSON object."})
    return request.data


def request_user(request):
    return request.user if getattr(request.user, "pk", None) else None


class UUIDLookup:
    """A malformed id in the URL is a 404 like any unknown id, not a 500 or a 400."""

    def get_object(self):
        if parse_uuid(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)) is None:
            raise Http404
        return super().get_object()


ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='The `ETag` of the draft this graph was edited from, e.g. `"7"`.',
)
DRAFT_ETAG = OpenApiParameter(
    "ETag", str, OpenApiParameter.HEADER, response=[200], description="The draft's revision."
)
NO_BODY = {"request": None}
VERSION_LIST = inline_serializer(
    "PaginatedVersionList",
    {
        "results": VersionSerializer(many=True),
        "next": serializers.URLField(allow_null=True),
        "count": serializers.IntegerField(),
    },
)
READ = error_responses(401, 404)
CHANGE = error_responses(400, 401, 403, 404)


def _workflow_docs(summary: str, description: str = "", parameters=(), **kwargs):
    return extend_schema(
        tags=["workflows"],
        summary=summary,
        description=description,
        parameters=[ID, *parameters],
        **kwargs,
    )


@extend_schema_view(
    list=extend_schema(
        tags=["workflows"],
        summary="List workflows",
        parameters=[
            OpenApiParameter("search", str, description="Contains, in name and description."),
            OpenApiParameter("status", str, enum=Workflow.Status.values),
        ],
        responses={200: WorkflowSerializer, **error_responses(401)},
    ),
    create=extend_schema(
        tags=["workflows"],
        summary="Create a workflow",
        description="New workflows are inactive, with a draft: the given `graph`, a copy of "
        "the `template`'s graph, or an empty one with a manual trigger.",
        request=WorkflowCreateSerializer,
        responses={201: WorkflowSerializer, **error_responses(400, 401, 403, 415)},
    ),
    retrieve=_workflow_docs("Get a workflow", responses={200: WorkflowSerializer, **READ}),
    update=_workflow_docs(
        "Rename a workflow",
        request=WorkflowUpdateSerializer,
        responses={200: WorkflowSerializer, **CHANGE, **error_responses(415)},
    ),
    partial_update=_workflow_docs(
        "Change a workflow's name or description",
        request=WorkflowUpdateSerializer,
        responses={200: WorkflowSerializer, **CHANGE, **error_responses(415)},
    ),
    destroy=_workflow_docs(
        "Delete a workflow",
        "Deletes it with its versions and runs.",
        responses={204: None, **error_responses(401, 403, 404)},
    ),
    validate=_workflow_docs(
        "Validate the draft",
        "Every problem publishing would refuse, each with its step and field.",
        **NO_BODY,
        responses={200: ValidationResultSerializer, **error_responses(401, 403, 404)},
    ),
    publish=_workflow_docs(
        "Publish the draft",
        "Validates the draft, numbers it, makes it the active version (the former one is "
        "archived) and activates the workflow. 400 with every problem when invalid.",
        **NO_BODY,
        responses={200: VersionSerializer, **CHANGE},
    ),
    activate=_workflow_docs(
        "Activate a workflow",
        "Its active version starts runs again. 400 when it has never been published.",
        **NO_BODY,
        responses={200: WorkflowSerializer, **CHANGE},
    ),
    deactivate=_workflow_docs(
        "Deactivate a workflow",
        "Stops new runs; runs in flight finish on the version they started with.",
        **NO_BODY,
        responses={200: WorkflowSerializer, **error_responses(401, 403, 404)},
    ),
    versions=_workflow_docs(
        "List published versions",
        "Newest first.",
        responses={200: VERSION_LIST, **READ},
    ),
    restore=extend_schema(
        tags=["workflows"],
        summary="Restore a version into the draft",
        description="Copies version `number`'s graph into the draft, replacing it; returns the "
        "draft.",
        parameters=[ID, OpenApiParameter("number", int, OpenApiParameter.PATH)],
        **NO_BODY,
        responses={200: GraphSerializer, **error_responses(401, 403, 404)},
    ),
    run=_workflow_docs(
        "Run a manual workflow",
        "For a manual trigger: `record_id`, `record_ids` or `payload`. The runs are stored "
        "and queued; poll them at `runs/{id}/`. Members may run workflows.",
        request=ManualRunSerializer,
        responses={202: RunIdsSerializer, **error_responses(400, 401, 404, 409, 415)},
    ),
    test=_workflow_docs(
        "Test the draft",
        "Runs the draft with a sample payload, as a run marked `test`; with `dry_run` true its "
        "record writes are rolled back and its emails stay unsent.",
        request=TestRunSerializer,
        responses={202: RunIdSerializer, **CHANGE, **error_responses(409, 415)},
    ),
    rotate_secret=_workflow_docs(
        "Rotate the webhook secret",
        "A new `webhook_secret`; the old one stops working.",
        **NO_BODY,
        responses={200: WorkflowSerializer, **error_responses(401, 403, 404)},
    ),
    rotate_token=_workflow_docs(
        "Rotate the address token",
        "A new token for `webhook_url` and `form_url`; the old addresses answer 404 at once.",
        **NO_BODY,
        responses={200: WorkflowSerializer, **error_responses(401, 403, 404)},
    ),
    webhook_secret=_workflow_docs(
        "Set or rotate the webhook secret",
        "With `secret`, the sender-issued secret to check signatures with (write-only: never "
        "shown back); without, a new random secret, shown once in the answer. The former "
        "secret is still accepted for one hour, while the sender switches over. Owners and "
        "admins only.",
        request=WebhookSecretSerializer,
        responses={200: WebhookSecretResultSerializer, **error_responses(400, 401, 403, 404, 415)},
    ),
)
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
        data = json_object(request)
        graph = data.get("graph")
        if graph is not None:
            try:
                check_graph(graph)
            except ValidationError as error:
                raise ValidationError({"graph": error.detail}) from error
        template = data.get("template")
        if template is not None and graph is not None:
            raise ValidationError({"template": "Give either `graph` or `template`, not both."})
        try:
            if template is not None:
                workflow = services.create_workflow_from_template(
                    request_workspace(request),
                    template,
                    name=data.get("name") if isinstance(data.get("name"), str) else None,
                    user=request_user(request),
                )
            else:
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
        data = json_object(request)
        unknown = set(data) - {"name", "description"}
        if unknown:
            raise ValidationError({k: "This field cannot be changed here." for k in unknown})
        try:
            if "name" in data or not kwargs.get("partial"):
                services.rename_workflow(workflow, data.get("name"))
        except services.WorkflowError as error:
            return error_response(error)
        if "description" in data:
            if data["description"] is not None and not isinstance(data["description"], str):
                raise ValidationError({"description": "Must be text."})
            workflow.description = data["description"] or ""
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
                raise NotFound("This workflow has no draft.")
            return Response(graph_for_api(draft.graph))
        if request.method == "DELETE":
            services.discard_draft(workflow)
            return Response(status=status.HTTP_204_NO_CONTENT)
        check_graph(request.data)
        # Optional optimistic locking: `If-Match: "<revision>"` (the draft's ETag) refuses a
        # PUT made on a stale copy with 409, as the builder does.
        revision = (request.headers.get("If-Match") or "").strip().strip('"') or None
        try:
            draft = edits.replace_graph(
                workflow, request.data, revision=revision, user=request_user(request)
            )
        except edits.DraftConflict as error:
            raise Conflict(str(error)) from None
        except services.WorkflowError as error:
            return error_response(error)
        response = Response(graph_for_api(draft.graph))
        response["ETag"] = f'"{draft.revision}"'
        return response

    draft = _workflow_docs(
        "Get the draft graph", responses={200: GraphSerializer, **READ}, methods=["GET"]
    )(draft)
    draft = _workflow_docs(
        "Replace the draft graph",
        "Stores the graph (SPEC section 4) as the draft, creating it if needed. Only its "
        "shape is checked (unknown top-level keys are refused); `validate/` lists what "
        "publishing would refuse. Send `If-Match` with the `ETag` of your copy to be refused "
        "(409) instead of overwriting a change made since.",
        request=GraphSerializer,
        parameters=[IF_MATCH, DRAFT_ETAG],
        responses={
            200: OpenApiResponse(GraphSerializer, description="The stored draft."),
            **error_responses(
                400, 401, 403, 404, 409, 413, 415, on_409="`If-Match` names an older revision."
            ),
        },
        methods=["PUT"],
    )(draft)
    draft = _workflow_docs(
        "Discard the draft",
        responses={204: None, **error_responses(401, 403, 404)},
        methods=["DELETE"],
    )(draft)

    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        problems = services.validate_draft(self.get_object())
        return Response({"valid": not problems, "errors": [p.as_dict() for p in problems]})

    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        try:
            # The request's user as is: an API key's is named in `published_by`.
            version = services.publish(self.get_object(), user=request.user)
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
            raise NotFound(str(error)) from error
        return Response(graph_for_api(draft.graph))

    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        workflow = self.get_object()
        data = json_object(request)
        unknown = set(data) - {"record_id", "record_ids", "payload"}
        if unknown:
            raise ValidationError({key: ["Unknown field."] for key in sorted(unknown)})
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
            raise Conflict(str(error)) from error
        return Response({"run_ids": [str(r.pk) for r in runs]}, status=202)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        workflow = self.get_object()
        rotate_webhook_secret(workflow)
        return Response(self.get_serializer(self.get_queryset().get(pk=workflow.pk)).data)

    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request, pk=None):
        workflow = self.get_object()
        rotate_address_token(workflow)
        return Response(self.get_serializer(self.get_queryset().get(pk=workflow.pk)).data)

    @action(detail=True, methods=["post"], url_path="webhook-secret")
    def webhook_secret(self, request, pk=None):
        workflow = self.get_object()
        given = WebhookSecretSerializer(data=json_object(request))
        given.is_valid(raise_exception=True)
        secret = given.validated_data.get("secret")
        new = set_webhook_secret(workflow, secret)
        workflow.refresh_from_db(fields=["previous_secret_expires_at"])
        return Response(
            {
                "webhook_secret": None if secret else new,
                "previous_secret_valid_until": workflow.previous_secret_expires_at,
            }
        )

    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        workflow = self.get_object()
        data = json_object(request)
        dry_run = TestRunSerializer(data={"dry_run": data.get("dry_run", False)})
        dry_run.is_valid(raise_exception=True)
        try:
            run = services.start_test_run(
                workflow,
                data.get("payload"),
                request_user(request),
                dry_run=dry_run.validated_data["dry_run"],
            )
        except services.WorkflowError as error:
            return error_response(error)
        except runtime.ChainTooDeep as error:
            raise Conflict(str(error)) from error
        return Response({"run_id": str(run.pk)}, status=202)


def _run_docs(summary: str, description: str = "", **kwargs):
    return extend_schema(
        tags=["runs"], summary=summary, description=description, parameters=[ID], **kwargs
    )


@extend_schema_view(
    list=extend_schema(
        tags=["runs"],
        summary="List runs",
        description="Newest first.",
        parameters=[
            OpenApiParameter("workflow", OpenApiTypes.UUID, description="A workflow's id."),
            OpenApiParameter("status", str, enum=WorkflowRun.Status.values),
            OpenApiParameter("source", str, enum=WorkflowRun.Source.values),
        ],
        responses={200: RunSerializer, **error_responses(400, 401)},
    ),
    retrieve=_run_docs(
        "Get a run with its steps",
        "`steps` in execution order, with the resolved input and the output of each (secrets "
        "masked as `***`).",
        responses={200: RunDetailSerializer, **READ},
    ),
    cancel=_run_docs(
        "Cancel a run",
        "A queued or waiting run stops at once, a running one after its current step. 409 when "
        "it has already finished.",
        **NO_BODY,
        responses={200: RunSerializer, **error_responses(401, 403, 404, 409)},
    ),
    retry=_run_docs(
        "Retry a failed run",
        "A new run that starts from the failed step with the earlier steps' outputs. 409 "
        "unless the run failed.",
        **NO_BODY,
        responses={202: RunIdSerializer, **error_responses(401, 403, 404, 409)},
    ),
)
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
            if params["source"] not in WorkflowRun.Source.values:
                raise ValidationError({"source": f"Use one of {WorkflowRun.Source.values}."})
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
            raise Conflict(str(error)) from error
        return Response(RunSerializer(run).data)

    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        try:
            run = services.retry_run(self.get_object(), user=request_user(request))
        except services.WorkflowError as error:
            raise Conflict(str(error)) from error
        return Response({"run_id": str(run.pk)}, status=202)


@extend_schema_view(
    list=extend_schema(
        tags=["forms"],
        summary="List the forms I may fill",
        description="Pending forms assigned to the caller or to anyone (an API key sees all).",
        responses={200: FormSerializer, **error_responses(401)},
    ),
    submit=extend_schema(
        tags=["forms"],
        summary="Submit a form",
        description="Stores the values and resumes the run waiting on the form. 400 with "
        "the field errors, 409 when already submitted or expired.",
        parameters=[ID],
        request=FormSubmitSerializer,
        responses={200: FormSubmissionSerializer, **error_responses(400, 401, 404, 409, 415)},
    ),
)
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
            raise NotFound("This form is assigned to someone else.")
        data = json_object(request)
        try:
            form = forms.submit_form(form, data.get("values"), user)
        except forms.FormAlreadySubmitted as error:
            raise Conflict(str(error)) from error
        except forms.FormInvalid as error:
            raise ValidationError({"detail": str(error), **error.errors}) from error
        return Response(FormSubmissionSerializer(form).data)
