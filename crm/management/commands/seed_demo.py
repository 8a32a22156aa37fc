"""`python manage.py seed_demo`: the demo workspace `acme` (SPEC section 1).

Idempotent: the workspace, its members and its default workflows are created or left as they
are; the demo records are made only while the workspace has no company at all, so running the
command again (as `make run` does on every start) creates nothing new.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.models import (
    Company,
    Meeting,
    MeetingStatus,
    Note,
    Opportunity,
    Person,
    Role,
    Stage,
    Task,
    TaskStatus,
    Workspace,
)
from crm.objects import OBJECTS
from crm.tenancy import add_member, create_workspace

SLUG = "acme"
OWNER = ("admin@example.com", "admin", "Alex", "Morgan")
MEMBERS = [
    ("sam@example.com", Role.ADMIN, "Sam", "Carter"),
    ("maria@example.com", Role.MEMBER, "Maria", "Lopez"),
]
MEMBER_PASSWORD = "demo"

COMPANY_NAMES = [
    "Northwind Analytics",
    "Bluebird Logistics",
    "Acorn Health",
    "Lumen Robotics",
    "Harbor & Finch",
    "Quartz Payments",
    "Evergreen Foods",
    "Atlas Freight",
    "Brightline Media",
    "Cobalt Security",
    "Driftwood Studios",
    "Fernhill Education",
    "Granite Capital",
    "Helios Energy",
    "Ironclad Manufacturing",
    "Juniper Retail",
    "Keystone Insurance",
    "Lighthouse Labs",
    "Meridian Travel",
    "Nimbus Cloud",
    "Orchard Biotech",
    "Pinnacle Legal",
    "Redwood Property",
    "Sable Outdoor",
    "Tidal Water Systems",
    "Umbra Design",
    "Vantage Telecom",
    "Willow Care",
    "Yellowstone Outfitters",
    "Zephyr Aerospace",
]
INDUSTRIES = [
    "Software",
    "Logistics",
    "Healthcare",
    "Manufacturing",
    "Financial services",
    "Retail",
    "Media",
    "Energy",
    "Education",
    "Real estate",
]
PLACES = [
    ("San Francisco", "United States"),
    ("New York", "United States"),
    ("Austin", "United States"),
    ("Boston", "United States"),
    ("Toronto", "Canada"),
    ("London", "United Kingdom"),
    ("Manchester", "United Kingdom"),
    ("Berlin", "Germany"),
    ("Munich", "Germany"),
    ("Paris", "France"),
    ("Lyon", "France"),
    ("Amsterdam", "Netherlands"),
    ("Stockholm", "Sweden"),
    ("Madrid", "Spain"),
    ("Sydney", "Australia"),
]
STREETS = ["Market St", "Main St", "Harbour Rd", "King St", "Elm Ave", "Station Rd", "Park Lane"]
TAGS = ["enterprise", "smb", "partner", "priority", "churn-risk", "expansion", "referral", "saas"]
FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Leo",
    "Harper",
    "Ethan",
    "Chloe",
    "Hugo",
    "Nora",
    "Arjun",
    "Priya",
    "Kenji",
    "Yuki",
    "Fatima",
    "Omar",
    "Ingrid",
    "Lars",
    "Camille",
    "Diego",
    "Zoe",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Garcia",
    "Müller",
    "Dubois",
    "Rossi",
    "Nguyen",
    "Patel",
    "Kim",
    "Andersson",
    "Silva",
    "Cohen",
    "Okafor",
    "Tanaka",
    "Martin",
    "Brown",
    "Novak",
    "Walsh",
    "Schmidt",
    "Fischer",
    "Moreau",
    "Haddad",
    "Larsen",
    "Costa",
    "Reyes",
    "Bauer",
]
JOB_TITLES = [
    "CEO",
    "CTO",
    "VP of Sales",
    "Head of Operations",
    "Procurement Manager",
    "CFO",
    "Head of Marketing",
    "Engineering Manager",
    "Office Manager",
    "IT Director",
    "Product Manager",
    "Customer Success Lead",
    "COO",
    "Finance Director",
]
DEAL_KINDS = [
    "Annual subscription",
    "Pilot",
    "Enterprise plan",
    "Expansion seats",
    "Renewal",
    "Onboarding package",
    "Data migration",
    "Premium support",
]
TASK_TITLES = [
    "Call {person} about next steps",
    "Send proposal to {company}",
    "Prepare demo for {company}",
    "Follow up with {person}",
    "Review contract with {company}",
    "Book kickoff with {person}",
    "Send pricing to {person}",
    "Check in on {company} onboarding",
    "Update forecast for {deal}",
    "Share case study with {person}",
]
NOTE_TEMPLATES = [
    (
        "Discovery call",
        "Spoke with {person}. Main pain point is manual reporting; they evaluate "
        "two other vendors. Decision expected this quarter.",
    ),
    ("Demo feedback", "{company} liked the workflow builder. Asked about SSO and audit logs."),
    (
        "Pricing discussion",
        "{person} asked for a discount on a two-year term. Budget is approved "
        "up to the amount in {deal}.",
    ),
    ("Meeting notes", "Met the {company} team. Next step: technical review with their IT."),
    ("Champion identified", "{person} will push internally. Send the security questionnaire."),
    ("Renewal risk", "Usage at {company} dropped last month; schedule a health check."),
]
STAGE_WEIGHTS = {
    Stage.NEW: 6,
    Stage.QUALIFIED: 6,
    Stage.MEETING: 5,
    Stage.PROPOSAL: 5,
    Stage.WON: 5,
    Stage.LOST: 3,
}


@dataclass
class DemoCounts:
    companies: int = 30
    people: int = 60
    opportunities: int = 30
    tasks: int = 40
    notes: int = 30
    meetings: int = 20


class Command(BaseCommand):
    help = "Creates the demo workspace 'acme' (admin@example.com / admin) with demo records."

    def handle(self, *args, **options):
        workspace = create_workspace(SLUG, name="Acme", owner_email=OWNER[0], password=OWNER[1])
        users = [self._member(workspace, OWNER[0], Role.OWNER, None, OWNER[2:])]
        for email, role, *names in MEMBERS:
            users.append(self._member(workspace, email, role, MEMBER_PASSWORD, names))
        if OBJECTS["company"].queryset(workspace).exists():
            self.stdout.write(f"Workspace '{SLUG}' already has records; nothing to add.")
            return
        create_demo_records(workspace, users, random.Random(42))
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded workspace '{SLUG}'. Log in at /accounts/login/ as {OWNER[0]} / {OWNER[1]}."
            )
        )

    def _member(self, workspace, email, role, password, names):
        user = add_member(workspace, email, role, password)
        if not user.first_name:
            user.first_name, user.last_name = names
            user.save(update_fields=["first_name", "last_name"])
        return user


@transaction.atomic
def create_demo_records(
    workspace: Workspace, users: list, rng: random.Random, counts: DemoCounts | None = None
) -> None:
    """Realistic, linked demo records made with bulk_create (seconds, not minutes).

    bulk_create skips the record services on purpose: the demo data should not start the
    workspace's record-triggered workflows (they are inactive anyway).
    """
    counts = counts or DemoCounts()
    now = timezone.now()
    owner = users[0]
    common = {"workspace": workspace, "created_by": owner}

    companies = Company.objects.bulk_create(
        [_company(rng, name, users, common) for name in COMPANY_NAMES[: counts.companies]]
    )
    people = Person.objects.bulk_create(
        [_person(rng, rng.choice(companies), common) for _ in range(counts.people)]
    )
    opportunities = Opportunity.objects.bulk_create(
        [
            _opportunity(rng, index, companies, people, users, now, common)
            for index in range(counts.opportunities)
        ]
    )
    tasks = Task.objects.bulk_create(
        [_task(rng, people, opportunities, users, now, common) for _ in range(counts.tasks)]
    )
    notes = Note.objects.bulk_create(
        [_note(rng, people, opportunities, users, workspace) for _ in range(counts.notes)]
    )
    meetings = Meeting.objects.bulk_create(
        [_meeting(rng, opportunities, users, now, common) for _ in range(counts.meetings)]
    )
    Meeting.attendees.through.objects.bulk_create(
        [
            Meeting.attendees.through(meeting_id=meeting.pk, person_id=person.pk)
            for meeting in meetings
            for person in _attendees(rng, meeting, people)
        ]
    )
    for model, created in [
        (Meeting, meetings),
        (Company, companies),
        (Person, people),
        (Opportunity, opportunities),
        (Task, tasks),
        (Note, notes),
    ]:
        _spread_creation_dates(rng, model, created, now)


def _company(rng, name: str, users: list, common: dict) -> Company:
    city, country = rng.choice(PLACES)
    employees = rng.choice([12, 25, 48, 85, 140, 260, 520, 1200, 3400, 9800])
    slug = name.lower().replace(" & ", "").replace(" ", "")
    return Company(
        name=name,
        domain=f"{slug}.com",
        employees=employees,
        annual_revenue=Decimal(employees * rng.randint(80, 260) * 1000),
        industry=rng.choice(INDUSTRIES),
        address=f"{rng.randint(1, 400)} {rng.choice(STREETS)}",
        city=city,
        country=country,
        linkedin=f"https://www.linkedin.com/company/{slug}",
        ideal_customer=rng.random() < 0.3,
        owner=rng.choice(users),
        tags=rng.sample(TAGS, rng.randint(0, 2)),
        **common,
    )


def _person(rng, company: Company, common: dict) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace("ü", "u")
    return Person(
        first_name=first,
        last_name=last,
        email=f"{local}@{company.domain}",
        phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        job_title=rng.choice(JOB_TITLES),
        city=company.city,
        company=company,
        tags=rng.sample(["decision-maker", "champion", "technical", "finance"], rng.randint(0, 1)),
        **common,
    )


def _opportunity(rng, index, companies, people, users, now, common) -> Opportunity:
    # Walk the stages in turn first so every stage has opportunities, then pick by weight.
    stages = list(STAGE_WEIGHTS)
    if index < len(stages):
        stage = stages[index]
    else:
        stage = rng.choices(stages, weights=list(STAGE_WEIGHTS.values()))[0]
    company = rng.choice(companies)
    contacts = [person for person in people if person.company_id == company.pk]
    closed = stage in (Stage.WON, Stage.LOST)
    close_in_days = rng.randint(-90, -3) if closed else rng.randint(5, 120)
    return Opportunity(
        name=f"{company.name} — {rng.choice(DEAL_KINDS)}",
        amount=Decimal(rng.choice([4, 8, 12, 18, 24, 36, 48, 60, 90, 120, 180]) * 1000),
        currency="USD",
        stage=stage,
        close_date=(now + timedelta(days=close_in_days)).date(),
        company=company,
        point_of_contact=rng.choice(contacts) if contacts else None,
        owner=rng.choice(users),
        tags=rng.sample(["inbound", "outbound", "partner", "upsell"], rng.randint(0, 1)),
        **common,
    )


def _task(rng, people, opportunities, users, now, common) -> Task:
    # Half the tasks are about a deal (and its contact), the others about a person.
    opportunity = rng.choice(opportunities) if rng.random() < 0.5 else None
    if opportunity is not None and opportunity.point_of_contact is not None:
        person = opportunity.point_of_contact
    else:
        person = rng.choice(people)
    company = opportunity.company if opportunity is not None else person.company
    title = rng.choice(TASK_TITLES).format(
        person=person.first_name,
        company=company.name,
        deal=opportunity.name if opportunity else company.name,
    )
    # A spread of overdue, due this week and later tasks, a few without a date.
    due_in_hours = rng.choice([-120, -48, -20, 3, 20, 44, 70, 140, 300, 500, None])
    status = rng.choices(list(TaskStatus), weights=[6, 2, 3])[0]
    return Task(
        title=title,
        body=rng.choice(["", "Agenda and notes in the shared folder.", "Bring the updated quote."]),
        status=status,
        due_at=now + timedelta(hours=due_in_hours) if due_in_hours is not None else None,
        assignee=rng.choice(users),
        company=company,
        person=person if person.company_id == company.pk else None,
        opportunity=opportunity,
        **common,
    )


MEETING_TITLES = ["Discovery call", "Product demo", "Pricing review", "Kick-off", "QBR"]


def _meeting(rng, opportunities, users, now, common) -> Meeting:
    opportunity = rng.choice(opportunities)
    # Some past (mostly done), most in the next two weeks, at office hours.
    days = rng.choice([-10, -3, -1, 1, 1, 2, 3, 5, 8, 13])
    starts = (now + timedelta(days=days)).replace(
        hour=rng.choice([9, 10, 11, 14, 15, 16]), minute=rng.choice([0, 30]), second=0
    )
    past = days < 0
    return Meeting(
        title=f"{rng.choice(MEETING_TITLES)} with {opportunity.company.name}",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=rng.choice([30, 45, 60])),
        location=rng.choice(["Video call", "Their office", "Our office", ""]),
        status=(
            rng.choice([MeetingStatus.DONE, MeetingStatus.DONE, MeetingStatus.CANCELLED])
            if past
            else MeetingStatus.SCHEDULED
        ),
        company=opportunity.company,
        opportunity=opportunity,
        owner=opportunity.owner or rng.choice(users),
        **common,
    )


def _attendees(rng, meeting: Meeting, people: list) -> list:
    colleagues = [p for p in people if p.company_id == meeting.company_id]
    return rng.sample(colleagues, min(len(colleagues), rng.choice([1, 2, 3]))) or [
        rng.choice(people)
    ]


def _note(rng, people, opportunities, users, workspace) -> Note:
    opportunity = rng.choice(opportunities)
    contact = opportunity.point_of_contact or rng.choice(people)
    title, body = rng.choice(NOTE_TEMPLATES)
    return Note(
        title=title,
        body=body.format(
            person=contact.first_name, company=opportunity.company.name, deal=opportunity.name
        ),
        company=opportunity.company,
        person=contact,
        opportunity=opportunity,
        workspace=workspace,
        created_by=rng.choice(users),
    )


def _spread_creation_dates(rng, model, created: list, now) -> None:
    """Records made in one second look fake; spread them over the last two months."""
    for record in created:
        created_at = now - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
        model.objects.filter(pk=record.pk).update(created_at=created_at, updated_at=created_at)
