"""How record values look on the pages: badges for stages, money, dates, links to related
records. One place, so a list cell and a detail field show a value the same way."""

import hashlib
from datetime import date, datetime
from decimal import Decimal

from django import template
from django.contrib.auth import get_user_model
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join, linebreaks
from django.utils.safestring import SafeString, mark_safe

from crm import display
from crm.display import EMPTY
from crm.forms import field_label, member_label
from crm.objects import BY_MODEL

register = template.Library()

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
# Avatar colours: the same name always gets the same one.
AVATAR_COLOURS = 8


@register.filter
def record_url(record) -> str:
    return reverse(f"{BY_MODEL[type(record)].name}-detail", args=[record.pk])


@register.filter
def object_of(record):
    """The RecordObject (registry entry) a record belongs to."""
    return BY_MODEL[type(record)]


@register.filter
def user_name(user, fallback: str = "") -> str:
    """A member's full name, or their email; `fallback` when there is no user (a workflow)."""
    return member_label(user) if user else fallback


@register.filter
def person(user, fallback: str = "") -> SafeString:
    """A member by name, their email on hover (crm/display.py)."""
    return display.person_html(user, fallback)


@register.filter
def ago(moment: datetime | None) -> SafeString:
    """ "3 days ago" in a <time> whose tooltip is the exact moment."""
    return display.moment_html(moment)


@register.filter
def when(moment: datetime | None) -> SafeString:
    """The exact moment, "Mar 3, 2025, 14:05" in the viewer's zone, in a <time>."""
    return display.moment_html(moment, relative=False)


@register.filter
def day(moment: date | datetime | None) -> str:
    """The date alone, "Mar 3, 2025", in the viewer's zone."""
    return display.exact_day(moment) if moment else "—"


@register.simple_tag
def custom_fields(record) -> list:
    return display.custom_fields(record)


@register.simple_tag
def label(obj, name: str) -> str:
    return field_label(obj, name)


@register.simple_tag
def avatar(text: str, size: str = "") -> SafeString:
    """A round chip with initials, coloured by a hash of the text."""
    text = str(text or "?")
    name = text.split("@")[0] if "@" in text else text  # ada.lovelace@x.com -> AL
    words = name.replace(".", " ").replace("_", " ").replace("-", " ").split()
    initials = "".join(word[0] for word in words[:2]).upper() or "?"
    colour = int(hashlib.md5(text.encode()).hexdigest(), 16) % AVATAR_COLOURS
    return format_html(
        '<span class="avatar avatar-{} {}" aria-hidden="true">{}</span>', colour, size, initials
    )


@register.simple_tag
def member_avatar(user, size: str = "", fallback: str = "Workflow") -> SafeString:
    """A member's avatar alone (a task's assignee, a note's author): named for screen readers,
    the name and email on hover."""
    name = member_label(user) if user else fallback
    tooltip = display.person_tooltip(user) if user else fallback
    colour = avatar(name, size)
    return format_html(
        '<span class="avatar-holder" role="img" aria-label="{}" title="{}">{}</span>',
        name,
        tooltip,
        colour,
    )


@register.simple_tag
def field_value(record, name: str) -> SafeString:
    """A record's field as HTML for a table cell or a detail row."""
    model_field = record._meta.get_field(name)
    value = getattr(record, name)
    if isinstance(model_field, models.BooleanField):
        return display.yes_no(value)
    if value in (None, "", []):
        return EMPTY
    if model_field.choices:
        return badge(value, getattr(record, f"get_{name}_display")())
    if model_field.many_to_many:
        related = list(value.all())
        if not related:
            return EMPTY
        return format_html_join(", ", "{}", ((_relation(item),) for item in related))
    if model_field.is_relation:
        return _relation(value)
    return _plain_value(record, name, model_field, value)


def _plain_value(record, name: str, model_field, value) -> SafeString:
    if name == "amount" or name == "annual_revenue":
        return format_html('<span class="num">{}</span>', money(value, record))
    if name in ("domain", "linkedin"):
        return display.external_link(value, value.split("://", 1)[-1])
    if name == "email":
        return format_html('<a class="wrap-anywhere" href="mailto:{}">{}</a>', value, value)
    if name == "phone":
        return format_html('<a href="tel:{}">{}</a>', value.replace(" ", ""), value)
    if name == "due_at":
        return due(record)
    if name == "tags":
        return format_html_join("", '<span class="tag">{}</span>', ((tag,) for tag in value))
    if name == "body":
        return mark_safe(linebreaks(value, autoescape=True))
    if name in ("created_at", "updated_at"):
        return display.moment_html(value)
    if isinstance(value, datetime):
        return display.moment_html(value, relative=False)
    if isinstance(value, date):
        return format_html("{}", display.exact_day(value))
    if isinstance(value, int | Decimal):
        return format_html('<span class="num">{}</span>', intcomma(value))
    return format_html("{}", value)


def _relation(value) -> SafeString:
    if isinstance(value, get_user_model()):
        name = member_label(value)
        return format_html(
            '<span class="person-chip" title="{}">{}{}</span>',
            value.email,
            avatar(name, "avatar-sm"),
            name,
        )
    return format_html('<a class="relation" href="{}">{}</a>', record_url(value), value)


@register.simple_tag
def badge(value: str, text: str) -> SafeString:
    return format_html('<span class="badge badge-{}">{}</span>', value, text)


@register.simple_tag
def money(amount, record=None, currency: str = "") -> str:
    """$1,250 for amounts, $12.5M for large ones; other currencies by code (CHF 900)."""
    if amount is None:
        return "—"
    currency = currency or getattr(record, "currency", "") or "USD"
    amount = Decimal(amount)
    for limit, suffix in ((Decimal(1_000_000_000), "B"), (Decimal(1_000_000), "M")):
        if abs(amount) >= limit:
            text = f"{amount / limit:,.1f}".removesuffix(".0") + suffix
            break
    else:
        text = f"{amount:,.0f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{currency} {text}"


@register.simple_tag
def due(task) -> SafeString:
    """A task's due time, flagged when it is overdue and still open."""
    if task.due_at is None:
        return EMPTY
    overdue = task.due_at < timezone.now() and task.status != "done"
    return format_html(
        '<span class="due{}" title="{}">{}</span>',
        " overdue" if overdue else "",
        _datetime(task.due_at),
        _relative_day(task.due_at),
    )


def _relative_day(moment: datetime) -> str:
    local = display.local_moment(moment)
    day = local.date()
    delta = (day - timezone.localdate()).days
    if delta == 0:
        return "Today " + date_format(local, "TIME_FORMAT")
    if delta == 1:
        return "Tomorrow"
    if delta == -1:
        return "Yesterday"
    return date_format(day, "DATE_FORMAT" if abs(delta) > 180 else "MONTH_DAY_FORMAT")


def _datetime(value: datetime) -> str:
    return display.exact_moment(value)


@register.simple_tag
def record_avatar(record, size: str = "") -> SafeString:
    """Companies get a square logo chip, people a round one; other records none."""
    name = BY_MODEL[type(record)].name
    if name == "company":
        return avatar(str(record), f"avatar-square {size}")
    if name == "person":
        return avatar(str(record), size)
    return mark_safe("")


@register.simple_tag(takes_context=True)
def sort_link(context, obj, column: str) -> SafeString:
    """A column header that sorts by the column, and flips the direction when clicked again."""
    query = context["query"]
    current = query.sort_column
    descending = current == f"-{column}"
    active = current.lstrip("-") == column
    params = context["request"].GET.copy()
    params["sort"] = column if descending or not active else f"-{column}"
    params.pop("page", None)
    arrow = ("↓" if descending else "↑") if active else ""
    return format_html(
        '<a class="sort{}" href="?{}">{}<span class="sort-arrow">{}</span></a>',
        " sorted" if active else "",
        params.urlencode(),
        field_label(obj, column),
        arrow,
    )


@register.simple_tag(takes_context=True)
def nav_class(context, prefix: str) -> str:
    """`active` for the navigation link of the section the page is in."""
    path = context["request"].path
    active = path == "/" if prefix == "/" else path.startswith(prefix)
    return "nav-link active" if active else "nav-link"


TIMELINE_ICONS = {
    "created": "plus",
    "updated": "pencil",
    "archived": "archive",
    "restored": "rotate-ccw",
    "note": "file-text",
    "task": "check-square",
    "meeting": "calendar",
    "run": "workflow",
    "email": "mail",
}


@register.simple_tag
def timeline_icon(kind: str) -> SafeString:
    return icon(TIMELINE_ICONS.get(kind, "activity"), 14)


OBJECT_ICONS = {
    "columns": '<rect width="18" height="18" x="3" y="3" rx="2"/><path d="M9 3v18"/><path d="M15 3v18"/>',
    "company": "building",
    "person": "users",
    "opportunity": "target",
    "task": "check-square",
    "note": "file-text",
    "meeting": "calendar",
}

# Stroke icons in the style of Lucide (ISC licence), drawn on a 24x24 grid.
ICONS = {
    "home": '<rect width="7" height="9" x="3" y="3" rx="1"/><rect width="7" height="5" x="14" '
    'y="3" rx="1"/><rect width="7" height="9" x="14" y="12" rx="1"/><rect width="7" '
    'height="5" x="3" y="16" rx="1"/>',
    "building": '<path d="M6 22V4a2 2 0 0 1 2-2h8a2 2 0 0 1 2 2v18Z"/><path d="M6 12H4a2 2 0 0 '
    '0-2 2v6a2 2 0 0 0 2 2h2"/><path d="M18 9h2a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-2"/>'
    '<path d="M10 6h4M10 10h4M10 14h4M10 18h4"/>',
    "users": '<path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2"/><circle cx="9" cy="7" r="4"/>'
    '<path d="M22 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75"/>',
    "target": '<circle cx="12" cy="12" r="10"/><circle cx="12" cy="12" r="6"/>'
    '<circle cx="12" cy="12" r="2"/>',
    "check-square": '<path d="m9 11 3 3L22 4"/><path d="M21 12v7a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2'
    ' 2 0 0 1 2-2h11"/>',
    "file-text": '<path d="M14.5 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V7.5L14.5 2z"/>'
    '<path d="M14 2v6h6M16 13H8M16 17H8M10 9H8"/>',
    "workflow": '<rect width="8" height="8" x="3" y="3" rx="2"/><path d="M7 11v4a2 2 0 0 0 2 2h4"/>'
    '<rect width="8" height="8" x="13" y="13" rx="2"/>',
    "activity": '<path d="M22 12h-4l-3 9L9 3l-3 9H2"/>',
    "inbox": '<path d="M22 12h-6l-2 3h-4l-2-3H2"/><path d="M5.45 5.11 2 12v6a2 2 0 0 0 2 2h16a2 2 '
    '0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z"/>',
    "search": '<circle cx="11" cy="11" r="8"/><path d="m21 21-4.3-4.3"/>',
    "plus": '<path d="M5 12h14M12 5v14"/>',
    "log-out": '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4"/><path d="m16 17 5-5-5-5M21 '
    '12H9"/>',
    "pencil": '<path d="M17 3a2.85 2.83 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5Z"/>',
    "trash": '<path d="M3 6h18M19 6v14c0 1-1 2-2 2H7c-1 0-2-1-2-2V6M8 6V4c0-1 1-2 2-2h4c1 0 2 1 '
    '2 2v2"/>',
    "x": '<path d="M18 6 6 18M6 6l12 12"/>',
    "archive": '<rect width="20" height="5" x="2" y="3" rx="1"/><path d="M4 8v11a2 2 0 0 0 2 2h12a2 '
    '2 0 0 0 2-2V8M10 12h4"/>',
    "rotate-ccw": '<path d="M3 12a9 9 0 1 0 9-9 9.75 9.75 0 0 0-6.74 2.74L3 8"/><path d="M3 3v5h5"/>',
    "kanban": '<path d="M6 5v11M12 5v6M18 5v14"/>',
    "more": '<circle cx="12" cy="12" r="1"/><circle cx="19" cy="12" r="1"/><circle cx="5" cy="12" '
    'r="1"/>',
    "check": '<path d="M20 6 9 17l-5-5"/>',
    "calendar": '<rect width="18" height="18" x="3" y="4" rx="2"/>'
    '<path d="M16 2v4M8 2v4M3 10h18"/>',
    "alert": '<circle cx="12" cy="12" r="10"/><path d="M12 8v4M12 16h.01"/>',
    "info": '<circle cx="12" cy="12" r="10"/><path d="M12 16v-4M12 8h.01"/>',
    "arrow-right": '<path d="M5 12h14M12 5l7 7-7 7"/>',
    "chevron-left": '<path d="m15 18-6-6 6-6"/>',
    "chevron-right": '<path d="m9 18 6-6-6-6"/>',
    "clock": '<circle cx="12" cy="12" r="10"/><path d="M12 6v6l4 2"/>',
    "lock": '<rect x="3" y="11" width="18" height="11" rx="2"/><path d="M7 11V7a5 5 0 0 1 10 0v4"/>',
    "key": '<circle cx="7.5" cy="15.5" r="5.5"/><path d="M21 2l-9.6 9.6M15.5 7.5l3 3L22 7l-3-3"/>',
    "menu": '<path d="M4 6h16M4 12h16M4 18h16"/>',
    "settings": '<path d="M12.22 2h-.44a2 2 0 0 0-2 2v.18a2 2 0 0 1-1 1.73l-.43.25a2 2 0 0 1-2 0l-.15-.08'
    "a2 2 0 0 0-2.73.73l-.22.38a2 2 0 0 0 .73 2.73l.15.1a2 2 0 0 1 1 1.72v.51a2 2 0 0 1-1 1.74l-.15"
    ".09a2 2 0 0 0-.73 2.73l.22.38a2 2 0 0 0 2.73.73l.15-.08a2 2 0 0 1 2 0l.43.25a2 2 0 0 1 1 1.73V"
    "20a2 2 0 0 0 2 2h.44a2 2 0 0 0 2-2v-.18a2 2 0 0 1 1-1.73l.43-.25a2 2 0 0 1 2 0l.15.08a2 2 0 0 0"
    " 2.73-.73l.22-.39a2 2 0 0 0-.73-2.73l-.15-.08a2 2 0 0 1-1-1.74v-.5a2 2 0 0 1 1-1.74l.15-.09a2 2"
    " 0 0 0 .73-2.73l-.22-.38a2 2 0 0 0-2.73-.73l-.15.08a2 2 0 0 1-2 0l-.43-.25a2 2 0 0 1-1-1.73V4a2"
    ' 2 0 0 0-2-2z"/><circle cx="12" cy="12" r="3"/>',
    "upload": '<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M17 8l-5-5-5 5M12 3v12"/>',
    "download": '<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3"/>',
    "mail": '<rect width="20" height="16" x="2" y="4" rx="2"/><path d="m22 7-10 5L2 7"/>',
    "edit-3": '<path d="M12 20h9M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4Z"/>',
    "play": '<path d="m6 3 14 9-14 9V3z"/>',
    "chevron-down": '<path d="m6 9 6 6 6-6"/>',
    "book": '<path d="M4 19.5A2.5 2.5 0 0 1 6.5 17H20"/><path d="M6.5 2H20v20H6.5A2.5 2.5 0 0 1 4 19.5v-15A2.5 2.5 0 0 1 6.5 2z"/>',
}


@register.simple_tag
def icon(name: str, size: int = 16) -> SafeString:
    return format_html(
        '<svg class="icon" width="{}" height="{}" viewBox="0 0 24 24" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        'aria-hidden="true">{}</svg>',
        size,
        size,
        mark_safe(ICONS.get(name, "")),
    )


@register.simple_tag
def object_icon(obj, size: int = 16) -> SafeString:
    return icon(OBJECT_ICONS.get(obj.name, "file-text"), size)
