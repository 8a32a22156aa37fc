"""Workspace administration: its name, its members and roles, its API keys (SPEC section 2).

The settings pages call these; every rule lives here so a page, a command or a future API
endpoint cannot bypass it. Owners and admins manage; only an owner makes or removes owners,
and a workspace always keeps at least one owner.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .models import ApiKey, Membership, Role, Workspace
from .tenancy import add_member

NAME_MAX_CHARS = 200
KEY_NAME_MAX_CHARS = 100


def _require_manager(actor: Membership) -> None:
    if not actor.can_manage:
        raise PermissionDenied("Only owners and admins can change the workspace's settings.")


def _require_owner_for(actor: Membership, role: str) -> None:
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can make or change an owner.")


def rename_workspace(actor: Membership, name: str) -> Workspace:
    _require_manager(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError("The workspace needs a name.")
    if len(name) > NAME_MAX_CHARS:
        raise ValidationError(f"Keep the name under {NAME_MAX_CHARS} characters.")
    workspace = actor.workspace
    workspace.name = name
    workspace.save(update_fields=["name"])
    return workspace


def members_of(workspace: Workspace):
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("created_at", "id")
    )


def invite_member(
    actor: Membership, email: str, role: str = Role.MEMBER, password: str = ""
) -> Membership:
    """Adds a person by email, creating their account when they have none. With no password
    a new account cannot sign in until someone sets one (the admin, or `createsuperuser`)."""
    _require_manager(actor)
    _check_role(role)
    _require_owner_for(actor, role)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError("Enter a valid email address.") from None
    if Membership.objects.filter(workspace=actor.workspace, user__email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member.")
    if password:
        # Never through this page: an admin here must not reset someone else's account.
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise ValidationError(f"{email} already has an account: leave the password empty.")
        validate_password(password)
    user = add_member(actor.workspace, email, role, password or None)
    return Membership.objects.get(workspace=actor.workspace, user=user)


@transaction.atomic
def change_role(actor: Membership, membership: Membership, role: str) -> Membership:
    _require_manager(actor)
    _check_role(role)
    _require_owner_for(actor, role)
    _require_owner_for(actor, membership.role)
    if membership.role == Role.OWNER and role != Role.OWNER:
        _keep_an_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(actor: Membership, membership: Membership) -> None:
    _require_manager(actor)
    _require_owner_for(actor, membership.role)
    if membership.role == Role.OWNER:
        _keep_an_owner(membership)
    membership.delete()


def _keep_an_owner(leaving: Membership) -> None:
    # Locks the owners' rows so two owners demoting each other at once cannot both succeed.
    owners = list(
        Membership.objects.select_for_update()
        .filter(workspace=leaving.workspace_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if owners == [leaving.pk]:
        raise ValidationError(
            "A workspace needs at least one owner: make someone else owner first."
        )


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")


def api_keys_of(workspace: Workspace):
    return ApiKey.objects.filter(workspace=workspace).order_by("revoked", "-created_at")


def create_api_key(actor: Membership, name: str) -> tuple[ApiKey, str]:
    """Returns the key and its raw value, which is shown once and never stored."""
    _require_manager(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the key a name, such as the tool that will use it.")
    if len(name) > KEY_NAME_MAX_CHARS:
        raise ValidationError(f"Keep the name under {KEY_NAME_MAX_CHARS} characters.")
    return ApiKey.issue(actor.workspace, name)


def revoke_api_key(actor: Membership, key: ApiKey) -> ApiKey:
    _require_manager(actor)
    key.revoked = True
    key.save(update_fields=["revoked"])
    return key
