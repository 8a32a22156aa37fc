"""Creating workspaces and their members: used by commands, seed_demo and tests."""

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Membership, Role, Workspace
from .signals import workspace_created


@transaction.atomic
def create_workspace(
    slug: str, name: str | None = None, owner_email: str | None = None, password: str | None = None
) -> Workspace:
    """Creates (or returns) the workspace `slug` with its default workflows and, when given,
    its owner. Idempotent: running it twice changes nothing the second time.

    The default workflows come from the workflows app, which listens to `workspace_created`."""

    workspace, _ = Workspace.objects.get_or_create(
        slug=slug, defaults={"name": name or slug.replace("-", " ").title()}
    )
    owner = None
    if owner_email:
        owner = add_member(workspace, owner_email, Role.OWNER, password)
    workspace_created.send(sender=Workspace, workspace=workspace, owner=owner)
    return workspace


def add_member(
    workspace: Workspace, email: str, role: str = Role.MEMBER, password: str | None = None
):
    User = get_user_model()
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(username=email, email=email, password=password)
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    Membership.objects.update_or_create(workspace=workspace, user=user, defaults={"role": role})
    return user
