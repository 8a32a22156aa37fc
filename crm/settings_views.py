"""The workspace settings pages: /settings/ (name), /settings/members/, /settings/api-keys/.

Everyone in the workspace sees them; owners and admins change them. Every change goes
through crm/administration.py, which holds the rules; a page only turns its answers into
messages. A new API key is shown once, on the page that created it, and never again.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render

from . import administration
from .activity import person_label
from .models import ApiKey, Membership, Role
from .views import member_required

SECTIONS = [
    ("settings-workspace", "General"),
    ("settings-members", "Members"),
    ("settings-api-keys", "API keys"),
    ("secrets-settings", "Secrets"),
]


def _render(request, template: str, section: str, context: dict, status: int = 200):
    context = {
        "sections": SECTIONS,
        "section": section,
        "can_manage": request.membership.can_manage,
        "roles": Role.choices,
        **context,
    }
    return render(request, template, context, status=status)


def _first_message(error: ValidationError) -> str:
    return error.messages[0] if error.messages else "That change was not valid."


@member_required
def workspace_settings(request):
    error = None
    if request.method == "POST":
        try:
            administration.rename_workspace(request.membership, request.POST.get("name", ""))
        except PermissionDenied as denied:
            return HttpResponseForbidden(str(denied))
        except ValidationError as invalid:
            error = _first_message(invalid)
        else:
            messages.success(request, "Saved the workspace's name.")
            return redirect("settings-workspace")
    return _render(
        request,
        "crm/settings/workspace.html",
        "settings-workspace",
        {"error": error, "name": request.POST.get("name", request.workspace.name)},
        status=400 if error else 200,
    )


@member_required
def members_settings(request):
    actor, errors = request.membership, {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "invite":
                membership = administration.invite_member(
                    actor,
                    request.POST.get("email", ""),
                    request.POST.get("role", Role.MEMBER),
                    request.POST.get("password", ""),
                )
                messages.success(
                    request, f"Added {person_label(membership.user)} as {membership.role}."
                )
            elif action in ("role", "remove"):
                membership = _membership(request)
                if action == "role":
                    administration.change_role(actor, membership, request.POST.get("role", ""))
                    messages.success(
                        request, f"{person_label(membership.user)} is now {membership.role}."
                    )
                else:
                    administration.remove_member(actor, membership)
                    messages.success(request, f"Removed {person_label(membership.user)}.")
            else:
                return HttpResponseBadRequest("Unknown action.")
        except PermissionDenied as denied:
            return HttpResponseForbidden(str(denied))
        except ValidationError as invalid:
            errors[action] = _first_message(invalid)
        else:
            return redirect("settings-members")
    return _render(
        request,
        "crm/settings/members.html",
        "settings-members",
        {
            "members": administration.members_of(request.workspace),
            "invite_error": errors.get("invite"),
            "table_error": errors.get("role") or errors.get("remove"),
            "invite_email": request.POST.get("email", "") if "invite" in errors else "",
        },
        status=400 if errors else 200,
    )


def _int_or_none(value) -> int | None:
    # Ids arrive from a form: anything but digits matches no row (a 404, never a 500).
    digits = isinstance(value, str) and value.isascii() and value.isdigit()  # "²".isdigit()
    return int(value) if digits and len(value) < 18 else None


def _membership(request) -> Membership:
    return get_object_or_404(
        Membership, workspace=request.workspace, pk=_int_or_none(request.POST.get("membership"))
    )


@member_required
def api_keys_settings(request):
    actor, error, new_key = request.membership, None, None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "create":
                key, raw = administration.create_api_key(actor, request.POST.get("name", ""))
                new_key = {"key": key, "raw": raw}
            elif action == "revoke":
                key = get_object_or_404(
                    ApiKey, workspace=request.workspace, pk=_int_or_none(request.POST.get("key"))
                )
                administration.revoke_api_key(actor, key)
                messages.success(request, f"Revoked {key.name}: calls with it now answer 401.")
                return redirect("settings-api-keys")
            else:
                return HttpResponseBadRequest("Unknown action.")
        except PermissionDenied as denied:
            return HttpResponseForbidden(str(denied))
        except ValidationError as invalid:
            error = _first_message(invalid)
    # The page that creates a key shows it (200, not a redirect): reloading it never shows
    # the key again, since only its hash is stored.
    return _render(
        request,
        "crm/settings/api_keys.html",
        "settings-api-keys",
        {
            "keys": administration.api_keys_of(request.workspace),
            "error": error,
            "new_key": new_key,
            "key_name": request.POST.get("name", "") if error else "",
        },
        status=400 if error else 200,
    )
