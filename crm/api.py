"""REST API for the five record objects (SPEC section 7): list with filters, search and
ordering; create, retrieve, update (PATCH and PUT), delete; CSV export and import."""

import functools

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from . import csv_io, records
from .api_common import Conflict
from .objects import OBJECTS, RecordObject
from .openapi import RECORD_DESCRIPTION, error_responses
from .permissions import request_workspace
from .record_query import FilterError, filter_records, filterable_fields
from .serializers import represent


class CsvBodyParser(parsers.BaseParser):
    """Accepts a raw CSV request body for imports; hands it on unparsed as `{"file": bytes}`."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return {}
        content = stream.read(csv_io.MAX_IMPORT_BYTES + 1)
        if len(content) > csv_io.MAX_IMPORT_BYTES:
            raise PayloadTooLarge()
        return {"file": content}


class PlainTextCsvBodyParser(CsvBodyParser):
    media_type = "text/plain"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The file is larger than {csv_io.MAX_IMPORT_BYTES // (1024 * 1024)} MB."
    default_code = "too_large"


class RecordViewSet(viewsets.ModelViewSet):
    """List with exact-field filters, `search` and `ordering`; create, read, update, delete."""

    record_object: RecordObject
    lookup_value_regex = "[^/]+"

    def get_serializer_class(self):
        return self.record_object.serializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "workspace": request_workspace(self.request)}

    def get_queryset(self):
        # Lists leave archived records out unless `?archived=true`; a record asked for by its
        # id is found either way (to read, restore or delete it for good).
        archived = _archived_flag(self.request) if self.action in ("list", "export") else None
        return self.record_object.queryset(request_workspace(self.request), archived=archived)

    def filter_queryset(self, queryset):
        if self.action not in ("list", "export"):
            return queryset
        try:
            return filter_records(self.record_object, queryset, self.request.query_params)
        except FilterError as error:
            raise exceptions.ValidationError(error.errors) from error

    def create(self, request, *args, **kwargs):
        self._reject_unknown_fields(request.data)
        user = request.user if getattr(request.user, "pk", None) else None
        instance = records.create_record(
            self.record_object, request_workspace(request), request.data, user=user
        )
        return Response(
            represent(self.record_object.serializer, instance), status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        self._reject_unknown_fields(request.data)
        instance = records.update_record(
            self.record_object,
            instance,
            request.data,
            partial=kwargs.get("partial", False),
            workspace=request_workspace(request),
        )
        return Response(represent(self.record_object.serializer, instance))

    def _reject_unknown_fields(self, data):
        """A misspelt field is an error, not silently ignored. Read-only fields (`id`,
        `company_name`...) are accepted, so a record read from the API can be sent back."""
        if not isinstance(data, dict):
            return  # the record service answers that the body must be an object
        known = _accepted_fields(self.record_object)
        unknown = [name for name in data if name not in known]
        if unknown:
            raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})

    def perform_destroy(self, instance):
        records.delete_record(instance)

    @action(detail=True, methods=["post"])
    def archive(self, request, *args, **kwargs):
        """Archives the record (a soft delete); 409 if it is archived already."""
        return self._change_archived(records.archive_record)

    @action(detail=True, methods=["post"])
    def restore(self, request, *args, **kwargs):
        """Restores an archived record; 409 if it is not archived."""
        return self._change_archived(records.restore_record)

    def _change_archived(self, service):
        try:
            instance = service(self.get_object())
        except records.RecordStateConflict as conflict:
            raise Conflict(str(conflict)) from conflict
        return Response(represent(self.record_object.serializer, instance))

    def perform_content_negotiation(self, request, force=False):
        # The export answers CSV whatever the Accept header says; its errors answer JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "export")

    @action(detail=False, methods=["get"], renderer_classes=[JSONRenderer])
    def export(self, request, *args, **kwargs):
        """All records matching the list's filters, `search` and `ordering`, as CSV."""
        obj = self.record_object
        queryset = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(
            csv_io.export_csv(obj, queryset, request_workspace(request)),
            content_type="text/csv; charset=utf-8",
        )
        filename = f"{obj.plural}-{timezone.now():%Y%m%d-%H%M}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[parsers.MultiPartParser, CsvBodyParser, PlainTextCsvBodyParser],
    )
    def import_csv(self, request, *args, **kwargs):
        """Creates a record per valid CSV row (or updates the one it matches, `?match=`) and
        lists the invalid rows with their errors."""
        file = request.data.get("file")
        if file is None or isinstance(file, str):
            raise exceptions.ValidationError(
                {"file": ["Send the CSV as the multipart field 'file' or as a text/csv body."]}
            )
        if getattr(file, "size", 0) > csv_io.MAX_IMPORT_BYTES:
            raise PayloadTooLarge()
        user = request.user if getattr(request.user, "pk", None) else None
        try:
            result = csv_io.import_csv(
                self.record_object,
                request_workspace(request),
                file,
                user=user,
                fire_triggers=_fire_triggers_flag(request),
                match=request.query_params.get("match") or request.data.get("match") or None,
            )
        except csv_io.CsvTooLarge as error:
            raise PayloadTooLarge(str(error)) from error
        except csv_io.CsvFormatError as error:
            raise exceptions.ValidationError({"detail": str(error)}) from error
        return Response(result.as_dict())


@functools.cache
def _accepted_fields(obj: RecordObject) -> frozenset[str]:
    return frozenset({*csv_io.export_columns(obj), "csrfmiddlewaretoken"})


def _archived_flag(request) -> bool:
    raw = request.query_params.get("archived", "false")
    word = str(raw).strip().lower()
    if word in ("true", "1", "yes"):
        return True
    if word in ("false", "0", "no", ""):
        return False
    raise exceptions.ValidationError({"archived": ["Expected true or false."]})


def _fire_triggers_flag(request) -> bool:
    raw = request.query_params.get("fire_triggers", request.data.get("fire_triggers", "true"))
    word = str(raw).strip().lower()
    if word in ("true", "1", "yes", "on", ""):
        return True
    if word in ("false", "0", "no", "off"):
        return False
    raise exceptions.ValidationError({"fire_triggers": ["Expected true or false."]})


# --- OpenAPI description ---------------------------------------------------------------------

IMPORT_RESULT = inline_serializer(
    "ImportResult",
    {
        "created": serializers.IntegerField(help_text="Records created."),
        "updated": serializers.IntegerField(help_text="Existing records updated (`match`)."),
        "total": serializers.IntegerField(help_text="Rows read, not counting the header."),
        "errors": inline_serializer(
            "ImportRowError",
            {
                "row": serializers.IntegerField(help_text="As a spreadsheet numbers it."),
                "errors": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    help_text="Messages by field.",
                ),
            },
            many=True,
        ),
    },
)


def _list_parameters(obj: RecordObject) -> list[OpenApiParameter]:
    filters = [
        OpenApiParameter(name, str, description=f"Exact match on `{name}`.")
        for name in filterable_fields(obj)
    ]
    return [
        OpenApiParameter(
            "search", str, description=f"Contains, in {', '.join(obj.search_fields)}."
        ),
        OpenApiParameter(
            "ordering", str, description="Field names, comma-separated, `-` for descending."
        ),
        OpenApiParameter(
            "archived", bool, default=False, description="true: the archived records instead."
        ),
        *filters,
    ]


def _import_parameters(obj: RecordObject) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "fire_triggers",
            bool,
            default=True,
            description="`false` imports without starting record triggers.",
        ),
        OpenApiParameter(
            "match",
            str,
            enum=list(obj.match_fields),
            description="Update the existing record whose value in this column matches "
            "(case-insensitive) instead of creating a duplicate; its empty cells leave fields "
            "unchanged. Rows that match nothing are created.",
        ),
    ]


def _document(viewset: type[RecordViewSet]) -> type[RecordViewSet]:
    obj = viewset.record_object
    tags = [obj.plural]
    a, plural = f"a {obj.name}", obj.label_plural.lower()
    one = {"tags": tags, "parameters": [OpenApiParameter("id", OpenApiTypes.UUID, "path")]}
    return extend_schema_view(
        list=extend_schema(
            tags=tags,
            summary=f"List {plural}",
            description=f"{obj.label_plural}, newest first, paginated. Filter by any field with "
            "`?field=value`.",
            parameters=_list_parameters(obj),
            responses={200: obj.serializer, **error_responses(400, 401)},
        ),
        create=extend_schema(
            tags=tags,
            summary=f"Create {a}",
            description=RECORD_DESCRIPTION,
            responses={201: obj.serializer, **error_responses(400, 401, 413, 415)},
        ),
        retrieve=extend_schema(
            **one, summary=f"Get {a}", responses={200: obj.serializer, **error_responses(401, 404)}
        ),
        update=extend_schema(
            **one,
            summary=f"Replace {a}",
            description="Every field not given gets its default.",
            responses={200: obj.serializer, **error_responses(400, 401, 404, 413, 415)},
        ),
        partial_update=extend_schema(
            **one,
            summary=f"Update {a}",
            description="Changes only the fields given.",
            responses={200: obj.serializer, **error_responses(400, 401, 404, 413, 415)},
        ),
        destroy=extend_schema(
            **one,
            summary=f"Delete {a}",
            description="Deletes it for good.",
            responses={204: None, **error_responses(401, 404)},
        ),
        archive=extend_schema(
            **one,
            summary=f"Archive {a}",
            request=None,
            responses={200: obj.serializer, **error_responses(401, 404, 409)},
        ),
        restore=extend_schema(
            **one,
            summary=f"Restore {a}",
            request=None,
            responses={200: obj.serializer, **error_responses(401, 404, 409)},
        ),
        export=extend_schema(
            tags=tags,
            summary=f"Export {plural} as CSV",
            description="Every field, one row per record, with the list's filters applied. "
            "Cells are safe to open in a spreadsheet.",
            parameters=_list_parameters(obj),
            responses={
                (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
                **error_responses(400, 401),
            },
        ),
        import_csv=extend_schema(
            tags=tags,
            summary=f"Import {plural} from CSV",
            description="The columns of the export (unknown columns are refused). Each valid "
            "row creates a record, or updates the one it matches with `match`; invalid rows are "
            "listed with their errors. Send the file as multipart field `file` or as a "
            "`text/csv` body.",
            parameters=_import_parameters(obj),
            request={
                "multipart/form-data": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                },
                "text/csv": {"type": "string"},
            },
            responses={200: IMPORT_RESULT, **error_responses(400, 401, 413, 415)},
        ),
    )(viewset)


def viewset_for(obj: RecordObject) -> type[RecordViewSet]:
    viewset = type(f"{obj.model.__name__}ViewSet", (RecordViewSet,), {"record_object": obj})
    return _document(viewset)


VIEWSETS = {obj.plural: viewset_for(obj) for obj in OBJECTS.values()}
