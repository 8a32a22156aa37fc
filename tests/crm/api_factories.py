"""Plain factory helpers for the record API tests: one record of each object, with links."""

from datetime import UTC, datetime

from rest_framework.test import APIClient

from crm.models import ApiKey, Company, Meeting, Note, Opportunity, Person, Task

PLURALS = ["companies", "people", "opportunities", "tasks", "notes", "meetings"]

# The smallest valid body for a create or a PUT of each object.
VALID_BODIES = {
    "companies": {"name": "Globex"},
    "people": {"first_name": "Grace"},
    "opportunities": {"name": "Big deal"},
    "tasks": {"title": "Call back"},
    "notes": {"title": "Met at the fair"},
    "meetings": {"title": "Demo", "starts_at": "2026-12-03T10:00:00Z"},
}

# A minimal CSV of each object, with one valid row.
VALID_CSV = {
    "companies": "name,city\nGlobex,Lyon\n",
    "people": "first_name,email\nGrace,grace@example.com\n",
    "opportunities": "name,stage\nBig deal,won\n",
    "tasks": "title,status\nCall back,todo\n",
    "notes": "title,body\nMet at the fair,Nice people\n",
    "meetings": "title,starts_at\nDemo,2026-12-03T10:00:00Z\n",
}


def make_records(workspace) -> dict[str, object]:
    """One record of each object in `workspace`, the task and note linked to the others."""
    company = Company.objects.create(workspace=workspace, name="Acme", city="Paris")
    person = Person.objects.create(
        workspace=workspace, first_name="Ada", email="ada@example.com", company=company
    )
    opportunity = Opportunity.objects.create(
        workspace=workspace, name="Rocket", stage="new", company=company, point_of_contact=person
    )
    links = {"company": company, "person": person, "opportunity": opportunity}
    task = Task.objects.create(workspace=workspace, title="Follow up", **links)
    note = Note.objects.create(workspace=workspace, title="First call", **links)
    meeting = Meeting.objects.create(
        workspace=workspace,
        title="Kick-off",
        starts_at=datetime(2026, 12, 3, 10, tzinfo=UTC),
        company=company,
        opportunity=opportunity,
    )
    meeting.attendees.set([person])
    return {
        "meetings": meeting,
        "companies": company,
        "people": person,
        "opportunities": opportunity,
        "tasks": task,
        "notes": note,
    }


def client_for(workspace) -> APIClient:
    _, raw = ApiKey.issue(workspace)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
