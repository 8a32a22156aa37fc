"""The template gallery (SPEC section 9): every template defined once, as data.

The gallery page, `GET /api/v1/templates/`, `POST /api/v1/workflows/` with `template` and the
default workflows of a new workspace (workflows/defaults.py) all read `TEMPLATES`. A
template's `graph` is copied (deeply) into the new workflow's draft, never shared.
"""

import copy
from dataclasses import dataclass

from . import recipes

CATEGORIES = ("Lead capture", "Sync", "Enrichment and scoring", "Sales", "Marketing", "Reminders")


@dataclass(frozen=True)
class Template:
    slug: str
    name: str
    category: str
    description: str  # the problem it solves, in a sentence or two
    fill_in: str  # the secrets, addresses and values to replace before activating it
    graph: dict

    @property
    def trigger_type(self) -> str:
        return self.graph["trigger"]["type"]

    def copy_graph(self) -> dict:
        return copy.deepcopy(self.graph)

    def steps(self) -> list[dict]:
        return self.graph["steps"]

    def matches(self, query: str) -> bool:
        text = f"{self.slug} {self.name} {self.category} {self.description}".lower()
        return all(word in text for word in query.lower().split())


TEMPLATES: tuple[Template, ...] = (
    Template(
        "web-form-lead-capture",
        "Web-form lead capture",
        "Lead capture",
        "A form on your site posts each lead here: the person is found by email and updated, "
        "or created; the owner gets a follow-up task and sales an email.",
        "Post your form to the webhook URL with the header X-Workflow-Token (the workflow's "
        "webhook secret); replace sales@example.com.",
        recipes.WEB_FORM_LEAD_CAPTURE,
    ),
    Template(
        "intake-form-lead-capture",
        "Intake-form lead capture",
        "Lead capture",
        "The same without your own form: a public intake form of this app (its link is on the "
        "trigger) finds or creates the person, adds a follow-up task and emails sales.",
        "Adjust the form's fields and thank-you text; replace sales@example.com.",
        recipes.INTAKE_FORM_LEAD_CAPTURE,
    ),
    Template(
        "product-usage-sync",
        "Product usage sync",
        "Sync",
        "Every day, read product usage from your data warehouse, store each account's active "
        "users on its company (by domain), and open a task when usage falls under a threshold.",
        "Secret WAREHOUSE_API_KEY; replace https://warehouse.example.com/v1/usage/daily (it "
        "answers rows of domain and active_users); the threshold is in the code step's input.",
        recipes.PRODUCT_USAGE_SYNC,
    ),
    Template(
        "meeting-notes-from-call-recorder",
        "Meeting notes from a call recorder",
        "Sales",
        "Your call recorder posts each call here: the summary becomes a note on the "
        "opportunity and person, each action item a task, and the attendees get the notes.",
        "Point the recorder's webhook at the URL, signed with the webhook secret (X-Signature: "
        "sha256=<hmac>); it sends title, summary, action_items, attendees and opportunity.",
        recipes.MEETING_NOTES_FROM_CALL_RECORDER,
    ),
    Template(
        "data-enrichment",
        "Enrich new companies",
        "Enrichment and scoring",
        "When a company is created, look it up in an enrichment API and fill in its size, "
        "industry and city; a task for a high-value customer and an alert on buying signals.",
        "Secret ENRICHMENT_API_KEY; replace https://enrichment.example.com/v1/companies and "
        "sales@example.com; the high-value size is in the code step's input.",
        recipes.DATA_ENRICHMENT,
    ),
    Template(
        "newsletter-export",
        "Newsletter export",
        "Marketing",
        "Run it by hand: the people tagged newsletter are sent to your mailing tool, a note "
        "tracks the campaign and you get a confirmation email.",
        "Secret MAILING_API_KEY; replace https://mailing.example.com/v1/lists/newsletter/members "
        "and marketing@example.com; the tag is in the code step's input.",
        recipes.NEWSLETTER_EXPORT,
    ),
    Template(
        "email-sequence-enrolment",
        "Email sequence enrolment",
        "Marketing",
        "A new person with an email and a job title is enrolled in the right email sequence of "
        "your automation tool (executive or standard), marked on their record, and someone "
        "watches their engagement.",
        "Secret AUTOMATION_API_KEY; replace https://automation.example.com; the senior job "
        "words are in the code step's input.",
        recipes.EMAIL_SEQUENCE_ENROLMENT,
    ),
    Template(
        "lead-scoring-external",
        "Lead scoring with an outside tool",
        "Enrichment and scoring",
        "When a person's title, company, email or city changes, your scoring tool scores them; "
        "the score is stored in custom.lead_score and a hot lead gets a task.",
        "Secret SCORING_API_KEY; replace https://scoring.example.com/v1/score (it answers "
        "{score}); the threshold is in the code step's input.",
        recipes.LEAD_SCORING_EXTERNAL,
    ),
    Template(
        "lead-scoring-internal",
        "Lead scoring in the CRM",
        "Enrichment and scoring",
        "Score people yourself from their company's size and industry and their job title; "
        "the score is stored in custom.lead_score and high scores are emailed to the owner.",
        "Replace sales@example.com; the industries, job words and threshold are in the code "
        "step's input.",
        recipes.LEAD_SCORING_INTERNAL,
    ),
    Template(
        "invoice-on-won-deal",
        "Won opportunity to invoice",
        "Sales",
        "When an opportunity is won, create the customer and then the invoice in your billing "
        "tool, keep the invoice reference on the opportunity and tell finance.",
        "Secret BILLING_API_KEY; replace https://billing.example.com (customers answer {id}, "
        "invoices {id}) and finance@example.com.",
        recipes.INVOICE_ON_WON_DEAL,
    ),
    Template(
        "two-way-sync-outbound",
        "Two-way sync: outbound",
        "Sync",
        "When a company changes here, send it to your other system and record on it whether "
        "the sync worked and when (custom.sync_status, custom.synced_at).",
        "Secret SYNC_API_KEY; replace https://erp.example.com/v1/companies/<id>.",
        recipes.TWO_WAY_SYNC_OUTBOUND,
    ),
    Template(
        "two-way-sync-inbound",
        "Two-way sync: inbound",
        "Sync",
        "Your other system posts company changes here: the matching company (by domain) is "
        "updated, and a task flags a conflict when both sides changed since the last sync.",
        "Point the other system's webhook at the URL, signed with the webhook secret "
        "(X-Signature: sha256=<hmac>); it sends domain, name, city and updated_at.",
        recipes.TWO_WAY_SYNC_INBOUND,
    ),
    Template(
        "multi-step-data-processing",
        "Multi-step data processing",
        "Lead capture",
        "Incoming people are validated, cleaned (case, spaces, phone) and tagged by business "
        "rules, then created or updated by email; data-quality problems are emailed.",
        "Post to the webhook URL with X-Workflow-Token; replace data-quality@example.com; the "
        "free-mail domains are in the rules step's input.",
        recipes.MULTI_STEP_DATA_PROCESSING,
    ),
    Template(
        "stale-opportunity-reminder",
        "Stale opportunity reminder",
        "Reminders",
        "Every weekday morning, each open opportunity untouched for 30 days gets a task for "
        "its owner.",
        "Nothing to fill in; the number of days is in the first code step's input.",
        recipes.STALE_OPPORTUNITY_REMINDER,
    ),
    Template(
        "qualify-lead-by-form",
        "Qualify lead by form",
        "Sales",
        "Start it on a person: a member fills a short qualification form (budget, timeline, "
        "fit) and the answers are saved on the person and in a note.",
        "Set the form's assignee (empty: any member) and its questions.",
        recipes.QUALIFY_LEAD_BY_FORM,
    ),
    Template(
        "meeting-reminder",
        "Meeting reminder",
        "Reminders",
        "A day before a meeting starts, its owner is notified and each attendee gets an email "
        "reminder.",
        "Nothing to fill in.",
        recipes.MEETING_REMINDER,
    ),
)

_BY_SLUG = {template.slug: template for template in TEMPLATES}


def get_template(slug: str) -> Template | None:
    return _BY_SLUG.get(slug)


def search(query: str = "", category: str = "") -> list[Template]:
    """Templates whose name, slug, category or description hold every word of `query`, in
    `category` when given, in gallery order."""
    return [
        template
        for template in TEMPLATES
        if (not category or template.category == category) and template.matches(query or "")
    ]
