"""The `send_email` step (SPEC section 4): one email through Django's email backend (SMTP
when EMAIL_HOST is set, the console otherwise), always recorded in the outbox.

At most once per step run (SPEC section 5): the outbox row keyed (run, step, scope, attempt)
is created *before* sending, so a replay finds it, whatever attempt the replay is. A `sent`
row of this step run is answered from the row (delivered; the worker died before storing the
step). A `pending` row means a worker died during the hand-off to SMTP (or another execution
is sending): delivery is unknown, so the step fails with "delivery unknown: see the outbox"
and a person decides (retrying the run from this step sends it, as a new run). Only after a
`failed` row does an attempt (on_error retry) send again.
"""

import smtplib
from dataclasses import dataclass
from email.utils import formataddr, getaddresses
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.mail import DNS_NAME, EmailMultiAlternatives, make_msgid
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.html import strip_tags

from .. import runtime
from ..models import OutboxEmail
from ..secrets import mask
from ..settings_schema import Setting
from ..templating import to_text
from . import register
from .base import GraphInfo, StepContext, StepError, StepHandler

SUBJECT_MAX_CHARS = 500  # OutboxEmail.subject


@dataclass
class EmailContent:
    """The step's settings once resolved: parsed addresses, a one-line subject."""

    to: list[str]
    cc: list[str]
    subject: str
    body: str
    html: bool

    @classmethod
    def from_settings(cls, settings: dict) -> "EmailContent":
        to = parse_addresses(settings.get("to"), "to")
        if not to:
            raise StepError("to: give at least one recipient.")
        subject = " ".join(to_text(settings.get("subject")).split())  # no header injection
        return cls(
            to=to,
            cc=parse_addresses(settings.get("cc"), "cc"),
            subject=subject[:SUBJECT_MAX_CHARS],
            body=to_text(settings.get("body")),
            html=settings.get("html") in (True, "true", "True"),
        )


@register
class SendEmail(StepHandler):
    type = "send_email"
    label = "Send email"
    group = "Outside"
    slow = True
    outputs = ("message_id", "to")
    settings_schema = (
        Setting(
            "to",
            "text_list",
            label="To",
            required=True,
            templates=True,
            help="One address, several separated by commas, or a template.",
            placeholder="{{trigger.record.email}}",
        ),
        Setting("cc", "text_list", label="Cc", templates=True),
        Setting("subject", "text", label="Subject", templates=True),
        Setting("body", "textarea", label="Body", templates=True),
        Setting("html", "boolean", label="The body is HTML", templates=True, default=False),
    )

    def validate_settings(self, settings: dict, graph: GraphInfo) -> list[str]:
        problems = []
        to = settings.get("to")
        if isinstance(to, str) and to and not to.strip():
            problems.append("to is required: one address, several separated by commas, or a list.")
        for field in ("to", "cc"):
            problems.extend(_literal_address_problems(settings.get(field), field))
        return problems

    def execute(self, ctx: StepContext) -> dict:
        content = EmailContent.from_settings(ctx.resolve(ctx.settings))
        earlier = earlier_hand_off(ctx)
        if earlier is not None and earlier.status == OutboxEmail.Status.SENT:
            return _output(earlier)
        if earlier is not None:
            raise delivery_unknown(earlier)
        row = claim_outbox_row(ctx, content)
        if row.status == OutboxEmail.Status.SENT:
            return _output(row)
        deliver(row, content)
        return _output(row)


DELIVERY_UNKNOWN = (
    "delivery unknown: see the outbox (the worker stopped while handing this email to SMTP; "
    "it is not sent twice, retry the run from this step to send it)"
)


def earlier_hand_off(ctx: StepContext) -> OutboxEmail | None:
    """A `sent` or `pending` email of an earlier attempt of this step run: a replay after the
    worker died (a crash bumps the attempt)."""
    return (
        OutboxEmail.objects.filter(
            run=ctx.run, step_id=ctx.step["id"], scope=ctx.scope, attempt__lt=ctx.attempt
        )
        .exclude(status=OutboxEmail.Status.FAILED)
        .order_by("-attempt")
        .first()
    )


def delivery_unknown(row: OutboxEmail) -> StepError:
    OutboxEmail.objects.filter(pk=row.pk, error="").update(error="delivery unknown")
    return StepError(DELIVERY_UNKNOWN)


def claim_outbox_row(ctx: StepContext, content: EmailContent) -> OutboxEmail:
    """The outbox row this execution may send, or the `sent` row of an earlier one.

    The stored copy has secret values masked: the outbox is for reading, the email itself
    carries the real text.
    """
    stored = {
        "workspace": ctx.workspace,
        "to": mask(content.to, ctx.secret_values),
        "cc": mask(content.cc, ctx.secret_values),
        "subject": mask(content.subject, ctx.secret_values),
        "body": mask(content.body, ctx.secret_values),
        "html": content.html,
    }
    row, created = OutboxEmail.objects.get_or_create(
        run=ctx.run, step_id=ctx.step["id"], scope=ctx.scope, attempt=ctx.attempt,
        defaults={**stored, "message_id": make_msgid(domain=DNS_NAME), "dry_run": ctx.dry_run},
    )  # fmt: skip
    if created or row.status == OutboxEmail.Status.SENT:
        return row
    retried = OutboxEmail.objects.filter(pk=row.pk, status=OutboxEmail.Status.FAILED).update(
        status=OutboxEmail.Status.PENDING, error="", **stored
    )
    if not retried:
        raise delivery_unknown(row)
    row.refresh_from_db()
    return row


def deliver(row: OutboxEmail, content: EmailContent) -> None:
    """Sends through the configured backend and records the outcome on the row; a dry run's
    row is never sent (it stays `pending`, marked `dry_run`)."""
    if row.dry_run:
        runtime.add_notice("Dry run: not sent; the email is kept in the outbox, marked dry run.")
        return
    message = build_message(content, row.message_id)
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError, ValueError) as error:
        reason = str(error) or error.__class__.__name__
        OutboxEmail.objects.filter(pk=row.pk).update(status=OutboxEmail.Status.FAILED, error=reason)
        raise StepError(f"Could not send the email: {reason}") from None
    row.status, row.sent_at = OutboxEmail.Status.SENT, timezone.now()
    OutboxEmail.objects.filter(pk=row.pk).update(status=row.status, sent_at=row.sent_at)


def build_message(content: EmailContent, message_id: str) -> EmailMultiAlternatives:
    """An HTML email also carries a plain-text version, for clients that show no HTML."""
    text = strip_tags(content.body) if content.html else content.body
    message = EmailMultiAlternatives(
        subject=content.subject, body=text, from_email=django_settings.DEFAULT_FROM_EMAIL,
        to=content.to, cc=content.cc, headers={"Message-ID": message_id},
    )  # fmt: skip
    if content.html:
        message.attach_alternative(content.body, "text/html")
    return message


def parse_addresses(value: Any, field: str) -> list[str]:
    """Addresses from "a@x.com, Ada <ada@x.com>" (commas or semicolons) or a list of them;
    StepError on a bad one."""
    if value is None or value == "":
        return []
    addresses = []
    for item in value if isinstance(value, list) else [value]:
        text = to_text(item)
        if "\n" in text or "\r" in text:  # would smuggle in headers or recipients
            raise StepError(f"{field}: addresses cannot contain line breaks.")
        parsed = [pair for pair in getaddresses([text.replace(";", ",")]) if any(pair)]
        if not parsed and text.strip(" ,;"):
            raise _invalid_address(field, text)
        for name, address in parsed:
            try:
                validate_email(address)
            except ValidationError:
                raise _invalid_address(field, address or name) from None
            addresses.append(formataddr((name, address)) if name else address)
    return addresses


def _invalid_address(field: str, text: str) -> StepError:
    return StepError(f"{field}: '{text.strip()}' is not a valid email address.")


def _literal_address_problems(value: Any, field: str) -> list[str]:
    """Addresses written without placeholders can be checked before the workflow runs."""
    items = value if isinstance(value, list) else [value]
    literal = [item for item in items if isinstance(item, str) and "{{" not in item]
    try:
        parse_addresses(literal, field)
    except StepError as error:
        return [str(error)]
    return []


def _output(row: OutboxEmail) -> dict:
    return {"message_id": row.message_id, "to": row.to}
