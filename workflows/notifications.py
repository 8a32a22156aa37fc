"""Notifications (SPEC sections 4 and 8): who a `notify` step reaches, storing the messages,
reading and marking them read. The step, the API and the pages all call these."""

import re
from collections.abc import Iterable

from django.db.models import Count
from django.utils import timezone

from crm.models import Membership

from .live import events
from .models import Notification

EVERYONE = "everyone"
ROLE_PREFIX = "role:"
# `role:admin` is "the owners and admins" as everywhere else (forms, SPEC section 4).
ROLES = {"admin": ("owner", "admin"), "owner": ("owner",), "member": ("member",)}


class UnknownRecipient(ValueError):
    """A recipient that names nobody of the workspace."""


def split_recipients(value) -> list:
    """`to` as entries: a list, or text split on commas; empty entries (a record with no
    owner) drop out."""
    items = value if isinstance(value, list) else re.split(r"[,;\n]", str(value or ""))
    return [
        item.strip() if isinstance(item, str) else item for item in items if item not in ("", None)
    ]


def recipients(workspace, entries: Iterable) -> list:
    """The members the entries name, each once: emails, user ids (what a record's `owner`
    holds), `role:<role>` or `everyone`."""
    members = Membership.objects.filter(workspace=workspace)
    found: dict[int, object] = {}
    for entry in entries:
        text = str(entry).strip()
        if text.lower() == EVERYONE:
            chosen = members
        elif text.lower().startswith(ROLE_PREFIX):
            roles = ROLES.get(text[len(ROLE_PREFIX) :].lower())
            if roles is None:
                raise UnknownRecipient(f"{text} is not a role; use role:{', role:'.join(ROLES)}.")
            chosen = members.filter(role__in=roles)
        elif "@" in text:
            chosen = members.filter(user__email__iexact=text)
        elif text.isascii() and text.isdigit():
            chosen = members.filter(user_id=int(text))
        else:
            chosen = members.none()
        users = [m.user for m in chosen.select_related("user").order_by("user__email")]
        if not users and text.lower() != EVERYONE:
            raise UnknownRecipient(f"{text} is not a member of this workspace.")
        for user in users:
            found.setdefault(user.pk, user)
    return list(found.values())


def is_app_path(link: str) -> bool:
    """A path of this app: `/people/…`, never another site (`//host`, `https:`) or a script."""
    return not link or (link.startswith("/") and not link.startswith("//") and "\\" not in link)


def notify_users(workspace, users, title, message="", link="", run=None, step_id=""):
    """Stores one notification per user and tells each user's open pages (after commit)."""
    rows = Notification.objects.bulk_create(
        [
            Notification(
                workspace=workspace,
                user=user,
                title=str(title)[:300],
                message=str(message),
                link=str(link)[:500],
                run=run,
                step_id=step_id,
            )  # fmt: skip
            for user in users
        ]
    )
    unread = unread_counts(workspace, [user.pk for user in users])
    events.publish_many(
        (
            events.user_group(workspace.pk, row.user_id),
            {"type": "notification", **as_item(row), "unread": unread.get(row.user_id, 0)},
        )
        for row in rows
    )
    return rows


def as_item(notification: Notification) -> dict:
    """A notification as the API and the live events carry it (SPEC section 8.1)."""
    return {
        "id": str(notification.pk),
        "title": notification.title,
        "message": notification.message,
        "link": notification.link,
        "read": notification.read,
        "created_at": events.iso(notification.created_at),
    }


# --- reading, marking read -------------------------------------------------------------------


def notifications_for(workspace, user):
    return Notification.objects.filter(workspace=workspace, user=user).order_by("-created_at")


def unread_counts(workspace, user_ids) -> dict[int, int]:
    rows = (
        Notification.objects.filter(workspace=workspace, user_id__in=user_ids, read_at=None)
        .values("user_id")
        .annotate(count=Count("pk"))
    )
    return {row["user_id"]: row["count"] for row in rows}


def unread_count(workspace, user) -> int:
    return notifications_for(workspace, user).filter(read_at=None).count()


def mark_read(workspace, user, ids=None) -> int:
    """Marks the user's notifications read (the given ids, or all); every open page of the
    user follows. Returns how many changed."""
    unread = notifications_for(workspace, user).filter(read_at=None)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    changed_ids = [str(pk) for pk in unread.values_list("pk", flat=True)]
    if changed_ids:
        Notification.objects.filter(pk__in=changed_ids).update(read_at=timezone.now())
        events.publish(
            events.user_group(workspace.pk, user.pk),
            {
                "type": "notification.read",
                "ids": changed_ids,
                "unread": unread_count(workspace, user),
            },
        )
    return len(changed_ids)
