"""`{% notifications_bell %}`: the top bar's bell (SPEC section 8, notifications): unread
notifications and the forms waiting for the user, kept current by static/app/live.js."""

from django import template

from .. import forms, notifications

register = template.Library()

SHOWN = 10
FORMS_SHOWN = 50


@register.inclusion_tag("workflows/_bell.html", takes_context=True)
def notifications_bell(context):
    workspace, user = context.get("current_workspace"), context.get("user")
    if workspace is None or not getattr(user, "pk", None):
        return {"bell": None}
    unread = notifications.unread_count(workspace, user)
    waiting = list(forms.pending_forms_for(workspace, user).order_by("-created_at")[:FORMS_SHOWN])
    return {
        "bell": {
            "items": list(notifications.notifications_for(workspace, user)[:SHOWN]),
            "unread": unread,
            "forms": waiting,
            "count": unread + len(waiting),
        }
    }
