"""The default workflows every new workspace gets, inactive (SPEC section 9). They are
published once (version 1) and deactivated, so a team only has to press Activate; they also
serve as examples of every kind of trigger and step."""

import logging

from django.db import transaction

from .models import Workflow

logger = logging.getLogger(__name__)


def _step(step_id, name, step_type, settings, next_=None, **extra):
    return {
        "id": step_id,
        "name": name,
        "type": step_type,
        "settings": settings,
        "next": next_ or [],
        **extra,
    }


def _graph(trigger_type, trigger_settings, entry, steps):
    layout = {s["id"]: {"x": 0, "y": 140 * (index + 1)} for index, s in enumerate(steps)}
    return {
        "trigger": {"type": trigger_type, "settings": trigger_settings, "next": entry},
        "steps": steps,
        "layout": layout,
    }


LEAD_CAPTURE = _graph(
    "webhook",
    {
        "method": "POST",
        "auth": "token",
        "expected_body": {
            "email": "string",
            "name": "string",
            "company": "string",
            "title": "string",
            "message": "string",
        },
    },
    ["find"],
    [
        _step(
            "find",
            "Find person by email",
            "find_records",
            {
                "object": "person",
                "limit": 1,
                "where": {
                    "all": [{"field": "email", "op": "eq", "value": "{{trigger.body.email}}"}]
                },
            },
            ["known"],
        ),
        _step(
            "known",
            "Already known?",
            "if_else",
            {
                "branches": [
                    {
                        "name": "known",
                        "next": ["touch"],
                        "when": {"all": [{"left": "{{steps.find.count}}", "op": "gt", "right": 0}]},
                    }
                ],
                "else_next": ["create"],
            },
        ),
        _step(
            "touch",
            "Update person",
            "update_record",
            {
                "object": "person",
                "id": "{{steps.find.first.id}}",
                "values": {"job_title": "{{trigger.body.title}}"},
            },
            ["follow_up"],
        ),
        _step(
            "create",
            "Create person",
            "create_record",
            {
                "object": "person",
                "values": {
                    "email": "{{trigger.body.email}}",
                    "first_name": "{{trigger.body.name}}",
                    "job_title": "{{trigger.body.title}}",
                    "tags": ["web lead"],
                },
            },
            ["follow_up"],
        ),
        _step(
            "follow_up",
            "Follow-up task",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "Follow up with {{trigger.body.name}} ({{trigger.body.company}})",
                    "body": "{{trigger.body.message}}",
                    "person": "{{steps.touch.record.id}}{{steps.create.record.id}}",
                },
            },
            ["notify"],
        ),
        _step(
            "notify",
            "Email sales",
            "send_email",
            {
                "to": "sales@example.com",
                "subject": "New web lead: {{trigger.body.name}}",
                "body": "{{trigger.body.name}} <{{trigger.body.email}}> from "
                "{{trigger.body.company}} wrote:\n\n{{trigger.body.message}}",
            },
            on_error={"retry": 2, "backoff_s": 30},
        ),
    ],
)

ENRICH_COMPANY = _graph(
    "record_created",
    {"object": "company"},
    ["lookup"],
    [
        _step(
            "lookup",
            "Look up the company",
            "http_request",
            {
                "method": "GET",
                "url": "https://enrichment.example.com/v1/companies",
                "query": {"domain": "{{trigger.record.domain}}"},
                "headers": {"Authorization": "Bearer {{secrets.ENRICHMENT_API_KEY}}"},
                "timeout_s": 10,
            },
            ["shape"],
            on_error={"retry": 2, "backoff_s": 10},
        ),
        _step(
            "shape",
            "Pick the fields",
            "code",
            {
                "source": "function main(input) {\n"
                "  const c = input.company || {};\n"
                "  return {employees: c.employees || null, industry: c.industry || '',\n"
                "          city: c.city || ''};\n}",
                "input": {"company": "{{steps.lookup.body}}"},
            },
            ["save"],
        ),
        _step(
            "save",
            "Update the company",
            "update_record",
            {
                "object": "company",
                "id": "{{trigger.record.id}}",
                "values": {
                    "employees": "{{steps.shape.employees}}",
                    "industry": "{{steps.shape.industry}}",
                    "city": "{{steps.shape.city}}",
                },
            },
        ),
    ],
)

WON_TO_INVOICE = _graph(
    "record_updated",
    {
        "object": "opportunity",
        "fields": ["stage"],
        "when": {"all": [{"left": "{{trigger.record.stage}}", "op": "eq", "right": "won"}]},
    },
    ["invoice"],
    [
        _step(
            "invoice",
            "Create the invoice",
            "http_request",
            {
                "method": "POST",
                "url": "https://billing.example.com/api/invoices",
                "headers": {"Authorization": "Bearer {{secrets.BILLING_API_KEY}}"},
                "body": {
                    "customer": "{{trigger.record.company_name}}",
                    "amount": "{{trigger.record.amount}}",
                    "currency": "{{trigger.record.currency}}",
                    "reference": "{{trigger.record.id}}",
                },
            },
            ["remember"],
            on_error={"retry": 3, "backoff_s": 60},
        ),
        _step(
            "remember",
            "Store the invoice reference",
            "update_record",
            {
                "object": "opportunity",
                "id": "{{trigger.record.id}}",
                "values": {"custom": {"invoice_ref": "{{steps.invoice.body.id}}"}},
            },
            ["tell_finance"],
        ),
        _step(
            "tell_finance",
            "Email finance",
            "send_email",
            {
                "to": "finance@example.com",
                "subject": "Invoice {{steps.invoice.body.id}} for {{trigger.record.name}}",
                "body": "{{trigger.record.name}} was won: {{trigger.record.amount}} "
                "{{trigger.record.currency}}. Invoice {{steps.invoice.body.id}}.",
            },
        ),
    ],
)

STALE_REMINDER = _graph(
    "schedule",
    {"cron": "0 9 * * 1-5", "timezone": "UTC"},
    ["cutoff"],
    [
        _step(
            "cutoff",
            "Two weeks ago",
            "code",
            {
                "source": "function main(input) {\n"
                "  const days = input.days || 14;\n"
                "  return {cutoff: new Date(Date.now() - days * 86400000).toISOString()};\n}",
                "input": {"days": 14},
            },
            ["find"],
        ),
        _step(
            "find",
            "Find stale opportunities",
            "find_records",
            {
                "object": "opportunity",
                "limit": 200,
                "order_by": "updated_at",
                "where": {
                    "all": [
                        {"field": "stage", "op": "not_in", "value": ["won", "lost"]},
                        {"field": "updated_at", "op": "before", "value": "{{steps.cutoff.cutoff}}"},
                    ]
                },
            },
            ["each"],
        ),
        _step(
            "each",
            "For each opportunity",
            "iterator",
            {"items": "{{steps.find.records}}", "loop": ["remind"]},
        ),
        _step(
            "remind",
            "Reminder task",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "Stale: {{steps.each.item.name}} has not moved in two weeks",
                    "opportunity": "{{steps.each.item.id}}",
                    "assignee": "{{steps.each.item.owner}}",
                },
            },
        ),
    ],
)

QUALIFY_BY_FORM = _graph(
    "manual",
    {"object": "person", "mode": "single"},
    ["ask"],
    [
        _step(
            "ask",
            "Qualification form",
            "form",
            {
                "title": "Qualify {{trigger.record.first_name}} {{trigger.record.last_name}}",
                "description": "A few questions before we pass this lead to sales.",
                "fields": [
                    {"name": "budget", "label": "Budget", "type": "number", "required": True},
                    {
                        "name": "timeline",
                        "label": "Timeline",
                        "type": "select",
                        "required": True,
                        "options": ["this quarter", "this year", "later"],
                    },
                    {"name": "fit", "label": "Good fit", "type": "boolean"},
                    {"name": "notes", "label": "Notes", "type": "textarea"},
                ],
                "assignee": "",
            },
            ["save"],
        ),
        _step(
            "save",
            "Save the answers",
            "update_record",
            {
                "object": "person",
                "id": "{{trigger.record.id}}",
                "values": {
                    "custom": {
                        "budget": "{{steps.ask.values.budget}}",
                        "timeline": "{{steps.ask.values.timeline}}",
                        "qualified": "{{steps.ask.values.fit}}",
                    }
                },
            },
            ["note"],
        ),
        _step(
            "note",
            "Note the answers",
            "create_record",
            {
                "object": "note",
                "values": {
                    "title": "Qualification by {{steps.ask.submitted_by}}",
                    "body": "Budget {{steps.ask.values.budget}}, timeline "
                    "{{steps.ask.values.timeline}}.\n{{steps.ask.values.notes}}",
                    "person": "{{trigger.record.id}}",
                },
            },
        ),
    ],
)

# A day before a meeting starts, its owner is notified and each attendee gets an email.
MEETING_REMINDER = _graph(
    "date_relative",
    {
        "object": "meeting",
        "field": "starts_at",
        "offset": {"amount": 1, "unit": "days", "direction": "before"},
    },
    ["tell_owner"],
    [
        _step(
            "tell_owner",
            "Notify the owner",
            "notify",
            {
                # A meeting without an owner notifies nobody and the reminder goes on.
                "to": "{{trigger.record.owner}}",
                "title": "Tomorrow: {{trigger.record.title}}",
                "message": "{{trigger.record.starts_at}} ({{trigger.record.location}})",
                "link": "/meetings/{{trigger.record.id}}/",
            },
            ["attendees"],
        ),
        _step(
            "attendees",
            "Find the attendees",
            "find_records",
            {
                "object": "person",
                "where": {
                    "all": [{"field": "id", "op": "in", "value": "{{trigger.record.attendees}}"}]
                },
                "limit": 200,
            },
            ["each"],
        ),
        _step(
            "each",
            "For each attendee",
            "iterator",
            {"items": "{{steps.attendees.records}}", "loop": ["email"]},
        ),
        _step(
            "email",
            "Email the attendee",
            "send_email",
            {
                "to": "{{steps.each.item.email}}",
                "subject": "Reminder: {{trigger.record.title}} tomorrow",
                "body": "Hello {{steps.each.item.first_name}},\n\n"
                "This is a reminder of “{{trigger.record.title}}” at {{trigger.record.starts_at}}"
                " ({{trigger.record.location}}).\n\nSee you there.",
            },
        ),
    ],
)

DEFAULT_WORKFLOWS = [
    (
        "Web-form lead capture",
        "A form on your site posts here: find or create the person, "
        "add a follow-up task and tell sales.",
        LEAD_CAPTURE,
    ),
    (
        "Enrich new companies",
        "When a company is created, look it up in an enrichment API and fill in its details.",
        ENRICH_COMPANY,
    ),
    (
        "Won opportunity to invoice",
        "When an opportunity is won, create the invoice, keep its reference and tell finance.",
        WON_TO_INVOICE,
    ),
    (
        "Stale opportunity reminder",
        "Every weekday morning, add a task for each open opportunity "
        "that has not moved in two weeks.",
        STALE_REMINDER,
    ),
    (
        "Qualify lead by form",
        "Start it on a person: someone fills a short qualification form and the answers are saved.",
        QUALIFY_BY_FORM,
    ),
    (
        "Meeting reminder",
        "A day before a meeting starts, remind its attendees by email.",
        MEETING_REMINDER,
    ),
]


def install_default_workflows(workspace, user=None) -> list[Workflow]:
    """Creates the default workflows in `workspace`, published as version 1 and inactive.
    Idempotent: a workflow whose name exists is left alone."""
    from . import services

    created = []
    existing = set(Workflow.objects.filter(workspace=workspace).values_list("name", flat=True))
    for name, description, graph in DEFAULT_WORKFLOWS:
        if name in existing:
            continue
        with transaction.atomic():
            workflow = services.create_workflow(workspace, name, user=user, graph=graph)
            workflow.description = description
            workflow.save(update_fields=["description"])
            try:
                services.publish(workflow, user=user)
                services.deactivate(workflow)
            except services.WorkflowError as error:
                # Stays a draft; the builder shows the problems.
                logger.warning(
                    "Default workflow %r not published: %s %s",
                    name,
                    error,
                    [p.as_dict() for p in error.problems],
                )
        created.append(workflow)
    return created
