"""REST API for the five record objects (SPEC section 7)."""

from django.db.models import Q
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from . import records
from .objects import OBJECTS, RecordObject
from .permissions import request_workspace

RESERVED_PARAMS = {"page", "page_size", "search", "ordering", "format"}


class RecordViewSet(viewsets.ModelViewSet):
    """List with exact-field filters, `search` and `ordering`; create, read, update, delete."""

    record_object: RecordObject
    lookup_value_regex = "[^/]+"

    def get_serializer_class(self):
        return self.record_object.serializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "workspace": request_workspace(self.request)}

    def get_queryset(self):
        obj = self.record_object
        queryset = obj.queryset(request_workspace(self.request))
        if self.action != "list":
            return queryset
        return self.filter_queryset_by_params(queryset)

    def filter_queryset_by_params(self, queryset):
        obj = self.record_object
        params = self.request.query_params
        filterable = set(obj.field_names) - {"custom", "tags"}
        filters = {}
        for name, value in params.items():
            if name in RESERVED_PARAMS:
                continue
            if name not in filterable:
                raise ValidationError(
                    {name: f"Unknown filter. Filter by one of: {', '.join(sorted(filterable))}."}
                )
            filters[name] = None if value == "" and name in self._nullable() else value
        try:
            queryset = queryset.filter(**filters)
            if params.get("search"):
                term = params["search"].strip()
                query = Q()
                for field in obj.search_fields:
                    query |= Q(**{f"{field}__icontains": term})
                queryset = queryset.filter(query)
            ordering = params.get("ordering")
            if ordering:
                name = ordering.lstrip("-")
                if name not in filterable:
                    raise ValidationError({"ordering": f"Cannot order by '{name}'."})
                queryset = queryset.order_by(ordering, "-created_at")
            # Evaluate the filter types now so a bad value is a 400, not a 500 later.
            queryset.exists()
        except (ValueError, TypeError) as error:
            raise ValidationError({"detail": f"Bad filter value: {error}"}) from error
        except Exception as error:  # Django's ValidationError on a malformed UUID or date
            if error.__class__.__name__ == "ValidationError":
                raise ValidationError({"detail": f"Bad filter value: {error}"}) from error
            raise
        return queryset

    def _nullable(self):
        return {f.name for f in self.record_object.model._meta.fields if f.null}

    def create(self, request, *args, **kwargs):
        user = request.user if getattr(request.user, "pk", None) else None
        instance = records.create_record(
            self.record_object, request_workspace(request), request.data, user=user
        )
        return Response(self.get_serializer(instance).data, status=201)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        instance = records.update_record(
            self.record_object, instance, request.data, partial=kwargs.get("partial", False)
        )
        return Response(self.get_serializer(instance).data)

    def perform_destroy(self, instance):
        records.delete_record(instance)


def viewset_for(obj: RecordObject) -> type[RecordViewSet]:
    return type(f"{obj.model.__name__}ViewSet", (RecordViewSet,), {"record_object": obj})


VIEWSETS = {obj.plural: viewset_for(obj) for obj in OBJECTS.values()}
