"""`python manage.py create_workspace SLUG [--name NAME] [--owner EMAIL --password PW]`
(SPEC section 1)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email, validate_slug

from crm.models import Workspace
from crm.tenancy import create_workspace


class Command(BaseCommand):
    help = "Creates a workspace, with its default workflows and optionally its owner."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short name used in URLs, e.g. 'acme'.")
        parser.add_argument("--name", help="Display name (default: from the slug).")
        parser.add_argument("--owner", metavar="EMAIL", help="Email of the owner to add.")
        parser.add_argument("--password", metavar="PW", help="The owner's password.")

    def handle(self, *args, slug, name=None, owner=None, password=None, **options):
        try:
            validate_slug(slug)
            if owner:
                validate_email(owner)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        if password and not owner:
            raise CommandError("--password needs --owner EMAIL.")
        existed = Workspace.objects.filter(slug=slug).exists()
        workspace = create_workspace(slug, name=name, owner_email=owner, password=password)
        verb = "already existed" if existed else "created"
        self.stdout.write(f"Workspace '{workspace.slug}' ({workspace.name}) {verb}.")
        if owner:
            user = get_user_model().objects.filter(email__iexact=owner.strip()).first()
            note = "" if user.has_usable_password() else " (no password: set one with --password)"
            self.stdout.write(f"Owner: {user.email}{note}.")
