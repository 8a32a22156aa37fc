"""`/api/v1/secrets/` (SPEC section 7): owners, admins and API keys list secrets (names and
masked values, never the values), create them, replace a value, delete them.

A secret is addressed by id or by name: `/api/v1/secrets/API_KEY/`. Names cannot be changed;
delete and create instead, so a rename never silently breaks `{{secrets.NAME}}` templates.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from crm.openapi import error_responses
from crm.permissions import CanManage, request_workspace

from .. import secrets
from ..models import Secret


class SecretSerializer(serializers.ModelSerializer):
    masked = serializers.CharField(read_only=True, help_text="The value, masked.")

    class Meta:
        model = Secret
        fields = ["id", "name", "masked", "created_at", "updated_at"]
        read_only_fields = fields


def _value_field():
    return serializers.CharField(
        trim_whitespace=False,
        max_length=secrets.VALUE_MAX_CHARS,
        write_only=True,
        help_text="Write-only: never shown again.",
    )


class SecretCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=secrets.NAME_MAX_CHARS, help_text="Used as `{{secrets.NAME}}`."
    )
    value = _value_field()

    class Meta:
        ref_name = "SecretWrite"


class SecretValueSerializer(serializers.Serializer):
    value = _value_field()
    name = serializers.CharField(required=False, help_text="If given, the secret's own name.")

    class Meta:
        ref_name = "SecretValue"


SECRET_ID = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The secret's id or its name."
)
ERRORS = error_responses(401, 403, 404)


@extend_schema_view(
    list=extend_schema(
        tags=["secrets"],
        summary="List secrets",
        description="Names and masked values only.",
        responses={200: SecretSerializer, **error_responses(401, 403)},
    ),
    create=extend_schema(
        tags=["secrets"],
        summary="Create a secret",
        request=SecretCreateSerializer,
        responses={201: SecretSerializer, **error_responses(400, 401, 403, 415)},
    ),
    retrieve=extend_schema(
        tags=["secrets"],
        summary="Get a secret (masked)",
        parameters=[SECRET_ID],
        responses={200: SecretSerializer, **ERRORS},
    ),
    update=extend_schema(
        tags=["secrets"],
        summary="Replace a secret's value",
        parameters=[SECRET_ID],
        request=SecretValueSerializer,
        responses={200: SecretSerializer, **error_responses(400, 401, 403, 404, 415)},
    ),
    partial_update=extend_schema(
        tags=["secrets"],
        summary="Replace a secret's value",
        parameters=[SECRET_ID],
        request=SecretValueSerializer,
        responses={200: SecretSerializer, **error_responses(400, 401, 403, 404, 415)},
    ),
    destroy=extend_schema(
        tags=["secrets"],
        summary="Delete a secret",
        description="Templates naming it no longer resolve to a value.",
        parameters=[SECRET_ID],
        responses={204: None, **ERRORS},
    ),
)
class SecretViewSet(viewsets.ModelViewSet):
    permission_classes = [CanManage]
    serializer_class = SecretSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return Secret.objects.filter(workspace=request_workspace(self.request)).order_by("name")

    def get_object(self):
        secret = secrets.find_secret(request_workspace(self.request), self.kwargs["pk"])
        if secret is None:
            raise Http404
        return secret

    def create(self, request, *args, **kwargs):
        given = SecretCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        secret = secrets.create_secret(request_workspace(request), **given.validated_data)
        return Response(SecretSerializer(secret).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        secret = self.get_object()
        given = SecretValueSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        name = given.validated_data.get("name")
        if name is not None and secrets.normalise_name(name) != secret.name:
            raise serializers.ValidationError(
                {"name": ["A secret cannot be renamed: create one with the new name instead."]}
            )
        secrets.replace_secret_value(secret, given.validated_data["value"])
        return Response(SecretSerializer(secret).data)

    def perform_destroy(self, instance):
        secrets.delete_secret(instance)
