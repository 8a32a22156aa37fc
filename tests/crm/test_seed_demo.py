"""`python manage.py seed_demo` (SPEC section 1)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.utils import timezone

from crm.models import Company, Membership, Note, Opportunity, Person, Stage, Task, Workspace

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def record_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Company, Person, Opportunity, Task, Note)
    }


def test_seed_demo_creates_acme_with_its_owner_and_two_more_members():
    seed()
    workspace = Workspace.objects.get(slug="acme")
    roles = dict(Membership.objects.filter(workspace=workspace).values_list("user__email", "role"))
    assert roles == {
        "admin@example.com": "owner",
        "sam@example.com": "admin",
        "maria@example.com": "member",
    }
    assert authenticate(username="admin@example.com", password="admin") is not None
    assert authenticate(username="maria@example.com", password="demo") is not None


def test_seed_demo_creates_a_few_dozen_records_of_each_object():
    seed()
    counts = record_counts()
    assert counts == {"Company": 30, "Person": 60, "Opportunity": 30, "Task": 40, "Note": 30}
    workspace = Workspace.objects.get(slug="acme")
    assert not Company.objects.exclude(workspace=workspace).exists()
    assert not Task.objects.filter(created_by=None).exists()


def test_seed_demo_links_the_records_together():
    seed()
    assert not Person.objects.filter(company=None).exists()
    assert not Opportunity.objects.filter(company=None).exists()
    assert not Note.objects.filter(opportunity=None).exists()
    # Each opportunity's contact works at the opportunity's company.
    for opportunity in Opportunity.objects.exclude(point_of_contact=None):
        assert opportunity.point_of_contact.company_id == opportunity.company_id


def test_seed_demo_covers_every_stage_and_overdue_and_upcoming_tasks():
    seed()
    assert set(Opportunity.objects.values_list("stage", flat=True)) == set(Stage.values)
    now = timezone.now()
    open_tasks = Task.objects.exclude(status="done")
    assert open_tasks.filter(due_at__lt=now).exists()
    assert open_tasks.filter(due_at__gte=now, due_at__lte=now + timedelta(days=7)).exists()
    members = set(Membership.objects.values_list("user_id", flat=True))
    assert set(Task.objects.values_list("assignee_id", flat=True)) <= members


def test_running_seed_demo_twice_creates_nothing_new():
    seed()
    before = (record_counts(), Membership.objects.count(), Workspace.objects.count())
    output = seed()
    assert (record_counts(), Membership.objects.count(), Workspace.objects.count()) == before
    assert "nothing to add" in output


def test_seed_demo_makes_the_same_records_every_time():
    seed()
    first = sorted(Company.objects.values_list("name", "city", "employees"))
    Company.objects.all().delete()
    seed()
    assert sorted(Company.objects.values_list("name", "city", "employees")) == first
