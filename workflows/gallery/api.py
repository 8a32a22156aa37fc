"""`GET /api/v1/templates/`: the template gallery (SPEC sections 7 and 9), read-only."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from crm.openapi import error_responses
from crm.permissions import IsWorkspaceMember

from ..openapi import GraphSerializer, TriggerTypeField
from . import CATEGORIES, search


class TemplateSerializer(serializers.Serializer):
    slug = serializers.CharField(help_text="Pass it as `template` to POST /api/v1/workflows/.")
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=CATEGORIES)
    description = serializers.CharField(help_text="The problem the template solves.")
    fill_in = serializers.CharField(
        help_text="The secrets, addresses and values to replace before activating it."
    )
    trigger = TriggerTypeField(source="trigger_type", help_text="The type of its trigger.")
    graph = GraphSerializer(help_text="Copied into the new workflow's draft.")


@extend_schema_view(
    list=extend_schema(
        tags=["templates"],
        summary="List the workflow templates",
        description="The gallery of SPEC section 9. Create a workflow from one with POST "
        "/api/v1/workflows/ {name, template: slug}.",
        parameters=[
            OpenApiParameter(
                "search", str, description="Every word, in name, slug, category and description."
            ),
            OpenApiParameter("category", str, enum=list(CATEGORIES)),
        ],  # fmt: skip
        responses={200: TemplateSerializer, **error_responses(401)},
    )
)
class TemplateViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = TemplateSerializer
    permission_classes = [IsWorkspaceMember]

    def get_queryset(self):
        params = self.request.query_params
        return search(params.get("search", ""), params.get("category", ""))
