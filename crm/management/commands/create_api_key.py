"""`python manage.py create_api_key --workspace SLUG [--name NAME]` prints the new key as
the last line of its output (SPEC section 1), so scripts can take it with `tail -n 1`."""

from django.core.management.base import BaseCommand, CommandError

from crm.models import ApiKey, Workspace


class Command(BaseCommand):
    help = "Issues an API key for a workspace and prints it; the key is not shown again."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, metavar="SLUG")
        parser.add_argument("--name", default="API key", help="A label to tell keys apart.")

    def handle(self, *args, workspace, name, **options):
        found = Workspace.objects.filter(slug=workspace).first()
        if found is None:
            raise CommandError(f"No workspace '{workspace}'. Create it with create_workspace.")
        _, raw = ApiKey.issue(found, name=name)
        self.stdout.write(
            f"API key '{name}' issued for workspace '{found.slug}'. Store it now; "
            "it is not shown again:"
        )
        self.stdout.write(raw)
