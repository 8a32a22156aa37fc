"""How a few kinds of value read on every page, decided once: moments (one format, in the
viewer's time zone), people (by name, with the email on hover), outside links (http and https
only) and the free-form `custom` values of a record. crm/templatetags/crm_pages.py exposes
them to the templates."""

import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from .activity import person_label

EMPTY = mark_safe('<span class="muted">—</span>')
# A bare domain as people type it: example.com, shop.example.co.uk:8443/path.
BARE_DOMAIN = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+(?::\d+)?(?:/\S*)?$"
)
# "leadScore" and "lead_score" both read "Lead score".
CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


# --- moments ---------------------------------------------------------------------------------


def local_moment(moment: datetime) -> datetime:
    """`moment` in the active (the viewer's) time zone; as written when that zone would push
    it past year 1 or 9999 (a "never" stored as 9999-12-31T23:59:59Z, seen from Tokyo)."""
    try:
        return timezone.localtime(moment)
    except OverflowError:
        return moment


def zone_name(local: datetime) -> str:
    """The zone `local` (from local_moment) is shown in, for the tooltip."""
    if local.tzinfo == timezone.get_current_timezone():
        return timezone.get_current_timezone_name()
    return local.tzname() or "UTC"


def exact_moment(moment: datetime) -> str:
    """ "Mar 3, 2025, 14:05" in the active (the viewer's) time zone."""
    return date_format(local_moment(moment), "DATETIME_FORMAT")


def exact_day(day: date) -> str:
    if isinstance(day, datetime):
        day = local_moment(day).date()
    return date_format(day, "DATE_FORMAT")


def relative_moment(moment: datetime) -> str:
    """ "3 days ago": the largest unit only, as people say it."""
    delta = timezone.now() - moment
    if abs(delta.total_seconds()) < 60:
        return "just now"
    if delta.total_seconds() < 0:
        return f"in {timesince(timezone.now(), moment, depth=1)}"
    return f"{timesince(moment, depth=1)} ago"


def moment_html(moment: datetime | None, relative: bool = True) -> SafeString:
    """A <time> element: the relative text (or the exact one) with the exact moment and the
    zone on hover, so every date on a page reads and hovers the same way."""
    if moment is None:
        return EMPTY
    local = local_moment(moment)
    exact = date_format(local, "DATETIME_FORMAT")
    return format_html(
        '<time datetime="{}" title="{} ({})">{}</time>',
        local.isoformat(),
        exact,
        zone_name(local),
        relative_moment(moment) if relative else exact,
    )


# --- people ----------------------------------------------------------------------------------


def person_html(user, fallback: str = "") -> SafeString:
    """A member by name with their email in the tooltip; `fallback` with no user."""
    if user is None:
        return format_html("{}", fallback) if fallback else EMPTY
    return format_html(
        '<span class="person-name" title="{}">{}</span>', user.email or "", person_label(user)
    )


def person_tooltip(user) -> str:
    """ "Ada Lovelace · ada@example.com" for an avatar that stands for a member."""
    name = person_label(user)
    return f"{name} · {user.email}" if user.email and user.email != name else name


# --- outside links ---------------------------------------------------------------------------


def safe_web_url(value: str) -> str | None:
    """`value` as an http(s) URL fit for an href, or None (javascript:, data:, mailto:, a
    typo): only these two schemes ever become links."""
    value = (value or "").strip()
    if not value:
        return None
    if "://" not in value and BARE_DOMAIN.match(value):
        value = f"https://{value}"
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def external_link(value: str, text: str = "") -> SafeString:
    """An outside link opening in a new tab; the plain text when `value` is not http(s)."""
    url = safe_web_url(value)
    text = text or value
    if url is None:
        return format_html('<span class="wrap-anywhere">{}</span>', value)
    return format_html(
        '<a class="external wrap-anywhere" href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        url,
        text,
    )


# --- custom values ---------------------------------------------------------------------------


def custom_label(key: str) -> str:
    """A `custom` key as a label: "lead_score", "leadScore" and "lead-score" read "Lead score"."""
    words = CAMEL_HUMP.sub(" ", str(key)).replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() or str(key)


# Levels of nested lists and objects a detail row spells out; deeper ones read "…". A value
# hundreds of levels deep (stored before crm.serializers capped it) must not exhaust the stack.
SHOWN_CUSTOM_DEPTH = 4


def custom_value_html(value, depth: int = 0) -> SafeString:
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int | float):
        return format_html('<span class="num">{}</span>', value)
    if isinstance(value, list | dict) and depth >= SHOWN_CUSTOM_DEPTH:
        return mark_safe('<span class="muted">…</span>')
    if isinstance(value, list):
        items = ((custom_value_html(item, depth + 1),) for item in value)
        return format_html_join(", ", "{}", items)
    if isinstance(value, dict):
        pairs = ((custom_label(k), custom_value_html(v, depth + 1)) for k, v in value.items())
        return format_html_join("; ", "{}: {}", pairs)
    return _custom_text(str(value))


def _custom_text(text: str) -> SafeString:
    moment = _parse_moment(text)
    if isinstance(moment, datetime):
        return moment_html(moment, relative=False)
    if isinstance(moment, date):
        return format_html("{}", exact_day(moment))
    if "://" in text and safe_web_url(text):
        return external_link(text)
    return format_html('<span class="wrap-anywhere">{}</span>', text)


def _parse_moment(text: str) -> datetime | date | None:
    """An ISO date or date-time written into `custom` by a workflow (`{{now}}`), else None."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        moment = parse_datetime(text)
        if moment is not None:
            # A naive one is taken as UTC, the zone the server writes in.
            return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)
        return parse_date(text)
    except ValueError:
        return None


def custom_fields(record) -> list[tuple[str, SafeString]]:
    """A record's `custom` values as (label, value HTML), in the order they were written."""
    custom = getattr(record, "custom", None) or {}
    return [(custom_label(key), custom_value_html(value)) for key, value in custom.items()]


def yes_no(value: bool) -> SafeString:
    if value:
        return mark_safe('<span class="badge badge-yes">Yes</span>')
    return mark_safe('<span class="badge badge-no">No</span>')
