"""The registry of trigger kinds (SPEC section 4): what each `trigger.type` is called in the
builder's picker, the settings it takes, and the payload it gives as `{{trigger.…}}`.

A new trigger kind is one `register(TriggerKind(...))` here (its firing lives in its own
module of this package):

    register(
        TriggerKind(
            "record_archived",
            "Record archived",
            settings_schema=RECORD_SETTINGS,
            payload=("record", "object", "event"),
        )
    )

`validate` adds only what the declaration cannot say (an either/or, a cron expression's
syntax). Validation, the builder's settings panel and its variable picker all read these
declarations, so the kind is validated and editable with no page code.
"""

from collections.abc import Callable
from dataclasses import dataclass

from ..settings_schema import Setting, schema_problems

EVERY_UNITS = ("minutes", "hours", "days", "weeks")
OFFSET_UNITS = ("minutes", "hours", "days")
# Date fields a `date_relative` trigger can watch, per object.
DATE_FIELDS = {
    "task": ("due_at",),
    "opportunity": ("close_date",),
    "meeting": ("starts_at", "ends_at"),
}


def _no_more_problems(settings: dict) -> list[str]:
    return []


@dataclass(frozen=True)
class TriggerKind:
    type: str
    label: str  # its button in the builder's trigger picker (SPEC 8.1)
    settings_schema: tuple[Setting, ...] = ()
    validate: Callable[[dict], list[str]] = _no_more_problems
    payload: tuple[str, ...] = ()  # top-level keys of {{trigger.…}}

    def settings_problems(self, settings: dict) -> list[str]:
        problems = schema_problems(self.settings_schema, settings) + self.validate(settings)
        return list(dict.fromkeys(problems))


KINDS: dict[str, TriggerKind] = {}


def register(kind: TriggerKind) -> TriggerKind:
    KINDS[kind.type] = kind
    return kind


def get_kind(trigger_type) -> TriggerKind | None:
    return KINDS.get(trigger_type) if isinstance(trigger_type, str) else None


def validate_trigger(trigger: dict) -> list[str]:
    """Problems with a trigger's type and settings, as messages."""
    settings = trigger.get("settings") or {}
    if not isinstance(settings, dict):
        return ["trigger settings must be an object."]
    kind = get_kind(trigger.get("type"))
    if kind is None:
        return [f"Unknown trigger type {trigger.get('type')!r}; use one of {', '.join(KINDS)}."]
    return kind.settings_problems(settings)


# --- the kinds --------------------------------------------------------------------------------

OBJECT = Setting("object", "object", label="Object", required=True)
WHEN = Setting(
    "when",
    "condition",
    label="Only when",
    templates=True,
    help="Optional: a condition on {{trigger.record.…}}; leave empty to fire for every record.",
)
RECORD_SETTINGS = (OBJECT, WHEN)
UPDATE_SETTINGS = (
    OBJECT,
    Setting(
        "fields",
        "fields",
        label="Only when one of these fields changed",
        help="Leave empty to fire on any change.",
    ),
    WHEN,
)
RECORD_PAYLOAD = ("record", "object", "event")

register(TriggerKind("record_created", "Record created", RECORD_SETTINGS, payload=RECORD_PAYLOAD))
register(
    TriggerKind(
        "record_updated",
        "Record updated",
        UPDATE_SETTINGS,
        payload=(*RECORD_PAYLOAD, "before", "changed_fields"),
    )
)
register(
    TriggerKind(
        "record_created_or_updated",
        "Record created or updated",
        UPDATE_SETTINGS,
        payload=(*RECORD_PAYLOAD, "before", "changed_fields"),
    )
)
register(
    TriggerKind(
        "record_deleted", "Record deleted", RECORD_SETTINGS, payload=(*RECORD_PAYLOAD, "before")
    )
)
register(
    TriggerKind(
        "record_archived",
        "Record archived",
        RECORD_SETTINGS,
        payload=(*RECORD_PAYLOAD, "changed_fields"),
    )
)
register(
    TriggerKind(
        "record_restored",
        "Record restored",
        RECORD_SETTINGS,
        payload=(*RECORD_PAYLOAD, "changed_fields"),
    )
)


def _schedule_problems(settings: dict) -> list[str]:
    from .schedule import schedule_problems

    return schedule_problems(settings)


register(
    TriggerKind(
        "schedule",
        "Schedule",
        (
            Setting(
                "cron",
                "cron",
                label="Cron expression",
                placeholder="0 9 * * 1-5",
                help="Five fields: minute hour day month weekday. Or use Every below.",
            ),
            Setting(
                "every",
                "group",
                label="Every",
                children=(
                    Setting("amount", "integer", label="Amount", minimum=1),
                    Setting("unit", "choice", label="Unit", choices=EVERY_UNITS, default="hours"),
                ),
            ),
            Setting("timezone", "timezone", label="Time zone", default="UTC"),
        ),
        validate=_schedule_problems,
        payload=("scheduled_for",),
    )
)


def _datetime_problems(settings: dict) -> list[str]:
    from .datetime_at import datetime_problems

    return datetime_problems(settings)


register(
    TriggerKind(
        "datetime",
        "Date and time",
        (
            Setting(
                "at",
                "datetime_local",
                label="Date and time",
                required=True,
                placeholder="2026-12-24T09:00",
                help="Runs once at this local time (publish again with a new time to run again).",
            ),
            Setting("timezone", "timezone", label="Time zone", default="UTC"),
        ),
        validate=_datetime_problems,
        payload=("scheduled_for",),
    )
)
register(
    TriggerKind(
        "manual",
        "Manual",
        (
            Setting(
                "object",
                "object",
                label="Object",
                help="Optional: start it from the records of this object (their Run menu).",
            ),
            Setting(
                "mode",
                "choice",
                label="Mode",
                choices=(("single", "One run per record"), ("bulk", "One run for all records")),
                default="single",
            ),
        ),
        payload=("record", "records", "user", "payload"),
    )
)
register(
    TriggerKind(
        "webhook",
        "Webhook",
        (
            Setting("method", "choice", label="Method", choices=("POST", "GET"), default="POST"),
            Setting(
                "auth",
                "choice",
                label="Authentication",
                choices=(
                    ("none", "None"),
                    ("token", "Token (X-Workflow-Token header)"),
                    ("hmac", "HMAC signature (X-Signature header)"),
                    ("github", "GitHub (X-Hub-Signature-256)"),
                    ("stripe", "Stripe (Stripe-Signature)"),
                    ("shopify", "Shopify (X-Shopify-Hmac-SHA256)"),
                    ("slack", "Slack (X-Slack-Signature)"),
                    ("standard", "Standard Webhooks / Svix (webhook-signature)"),
                ),
                default="none",
                help="Senders sign with the webhook secret; set a sender-issued one "
                "(Stripe, Shopify, Slack, Svix) with the secret's Set button or "
                "webhook-secret/ in the API.",
            ),
            Setting(
                "expected_body",
                "keyvalue",
                label="Expected body",
                help="Field names and their types (text, number, boolean, object, list), "
                "offered as variables to later steps.",
            ),
        ),
        payload=("body", "query", "headers"),
    )
)


def _date_relative_problems(settings: dict) -> list[str]:
    name, field = settings.get("object"), settings.get("field")
    if name not in DATE_FIELDS and isinstance(name, str):
        return [f"object must have a date field: one of {', '.join(DATE_FIELDS)}."]
    allowed = DATE_FIELDS.get(name, ())
    if name in DATE_FIELDS and field not in allowed:
        return [f"field must be a date field of {name}: {', '.join(allowed)}."]
    return []


register(
    TriggerKind(
        "date_relative",
        "Before or after a date",
        (
            OBJECT,
            Setting("field", "field", label="Date field", required=True),
            Setting(
                "offset",
                "group",
                label="When",
                children=(
                    Setting("amount", "number", label="Amount", default=0, minimum=0),
                    Setting("unit", "choice", label="Unit", choices=OFFSET_UNITS, default="days"),
                    Setting(
                        "direction",
                        "choice",
                        label="Direction",
                        choices=("before", "after"),
                        default="before",
                    ),
                ),
            ),
        ),
        validate=_date_relative_problems,
        payload=("record", "due"),
    )
)


def _intake_problems(settings: dict) -> list[str]:
    from .form import intake_problems

    return intake_problems(settings)


register(
    TriggerKind(
        "form_submitted",
        "Form submitted",
        (
            Setting("title", "text", label="Title", required=True),
            Setting("description", "textarea", label="Description"),
            Setting("fields", "form_fields", label="Fields", required=True),
            Setting("submit_label", "text", label="Button label", default="Submit"),
            Setting(
                "thank_you",
                "textarea",
                label="Thank-you text",
                default="Thank you! We received your answers.",
                help="Shown after a good submission.",
            ),
        ),
        validate=_intake_problems,
        payload=("values", "submitted_at"),
    )
)
