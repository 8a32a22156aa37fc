"""Plain factory helpers for the record API tests: one record of each object, with links."""

from rest_framework.test import APIClient

from crm.models import ApiKey, Company, Note, Opportunity, Person, Task

PLURALS = ["companies", "people", "opportunities", "tasks", "notes"]

# The smallest valid body for a create or a PUT of each object.
VALID_BODIES = {
    "companies": {"name": "Globex"},
    "people": {"first_name": "Grace"},
    "opportunities": {"name": "Big deal"},
    "tasks": {"title": "Call back"},
    "notes": {"title": "Met at the fair"},
}

# A minimal CSV of each object, with one valid row.
VALID_CSV = {
    "companies": "name,city\nGlobex,Lyon\n",
    "people": "first_name,email\nGrace,grace@example.com\n",
    "opportunities": "name,stage\nBig deal,won\n",
    "tasks": "title,status\nCall back,todo\n",
    "notes": "title,body\nMet at the fair,Nice people\n",
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
    return {
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
