"""Which workspace a request acts in, for pages (session) and the API (key or session)."""

from django.utils.functional import SimpleLazyObject

from . import activity
from .models import Membership


def membership_for_user(user) -> Membership | None:
    """A person's membership: the first workspace they joined.

    Switching workspaces from the UI is left for later; the API key decides for API calls.
    """
    if not user or not user.is_authenticated:
        return None
    return Membership.objects.select_related("workspace").filter(user=user).order_by("id").first()


class CurrentWorkspaceMiddleware:
    """Sets `request.membership` and `request.workspace` (both may be None) lazily."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: membership_for_user(request.user))
        request.workspace = SimpleLazyObject(
            lambda: request.membership.workspace if request.membership else None
        )
        with activity.request_actor(request):  # who the timeline says made this request's writes
            return self.get_response(request)


def workspace_context(request):
    membership = getattr(request, "membership", None)
    if membership is None or not membership:
        return {}
    return {"current_workspace": membership.workspace, "current_membership": membership}
