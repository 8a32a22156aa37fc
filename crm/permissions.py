"""Who may do what through the API (SPEC section 2)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .auth import ApiKeyUser


def request_workspace(request):
    """The workspace an API request acts in, set by the API key or the session's membership."""
    workspace = getattr(request._request, "workspace", None)
    return workspace if workspace else None


def can_manage(request) -> bool:
    """Owners, admins and API keys manage workflows, secrets and keys; members don't."""
    if isinstance(request.user, ApiKeyUser):
        return True
    membership = getattr(request._request, "membership", None)
    return bool(membership) and membership.can_manage


class IsWorkspaceMember(BasePermission):
    message = "You are not a member of any workspace."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request_workspace(request))


class CanManageOrReadOnly(IsWorkspaceMember):
    message = "Only owners and admins can change this."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or can_manage(request)


class CanManage(IsWorkspaceMember):
    message = "Only owners and admins can do this."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_manage(request)
