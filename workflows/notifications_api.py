"""`/api/v1/notifications/` (SPEC section 7): the caller's notifications and marking them
read. Thin: workflows.notifications does the work."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.ids import parse_uuid
from crm.openapi import error_responses
from crm.permissions import IsWorkspaceMember, request_workspace

from . import notifications
from .serializers import NotificationSerializer


class IsPerson(IsWorkspaceMember):
    message = "Notifications belong to a person: sign in, an API key has none of its own."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and getattr(request.user, "pk", None)


NOTIFICATION_LIST = inline_serializer(
    "PaginatedNotificationList",
    {
        "results": NotificationSerializer(many=True),
        "next": serializers.URLField(allow_null=True),
        "count": serializers.IntegerField(),
        "unread": serializers.IntegerField(help_text="How many of all of them are unread."),
    },
)
MARKED = inline_serializer(
    "NotificationsMarked",
    {"marked": serializers.IntegerField(), "unread": serializers.IntegerField()},
)
ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        tags=["notifications"],
        summary="List my notifications",
        description="The caller's notifications, newest first, with the `unread` count.",
        responses={200: NOTIFICATION_LIST, **error_responses(401, 403)},
    ),
    read=extend_schema(
        tags=["notifications"],
        summary="Mark a notification read",
        parameters=[ID],
        request=None,
        responses={200: NotificationSerializer, **error_responses(401, 403, 404)},
    ),
    read_all=extend_schema(
        tags=["notifications"],
        summary="Mark all my notifications read",
        request=None,
        responses={200: MARKED, **error_responses(401, 403)},
    ),
)
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    permission_classes = [IsPerson]
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return notifications.notifications_for(request_workspace(self.request), self.request.user)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread"] = notifications.unread_count(
            request_workspace(request), request.user
        )
        return response

    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        if parse_uuid(pk) is None:
            raise Http404
        notification = get_object_or_404(self.get_queryset(), pk=pk)
        notifications.mark_read(request_workspace(request), request.user, [notification.pk])
        notification.refresh_from_db()
        return Response(NotificationSerializer(notification).data)

    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        workspace = request_workspace(request)
        marked = notifications.mark_read(workspace, request.user)
        return Response(
            {"marked": marked, "unread": notifications.unread_count(workspace, request.user)}
        )
