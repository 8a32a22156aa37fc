"""The `notify` step: a message in the bell of members (SPEC section 4)."""

from .. import notifications
from ..settings_schema import Setting
from ..templating import placeholders
from . import register
from .base import StepError, StepHandler


@register
class Notify(StepHandler):
    type = "notify"
    label = "Notify"
    group = "People"
    # The notifications commit with the `succeeded` step run: a replay never notifies twice.
    writes_records = True
    outputs = ("notification_ids",)
    settings_schema = (
        Setting(
            "to",
            "text_list",
            label="To",
            required=True,
            templates=True,
            help="Member emails, role:admin, everyone, or a record's user such as "
            "{{trigger.record.owner}}; several separated by commas.",
            placeholder="everyone",
        ),
        Setting("title", "text", label="Title", required=True, templates=True),
        Setting("message", "textarea", label="Message", templates=True),
        Setting(
            "link",
            "text",
            label="Link",
            templates=True,
            help="A path in the app, e.g. /people/{{trigger.record.id}}/",
            placeholder="/people/{{trigger.record.id}}/",
        ),
    )

    def validate_settings(self, settings, graph):
        link = settings.get("link")
        if isinstance(link, str) and not placeholders(link) and not notifications.is_app_path(link):
            return [LINK_PROBLEM]
        return []

    def execute(self, ctx):
        link = str(ctx.resolve(ctx.settings.get("link")) or "").strip()
        if not notifications.is_app_path(link):
            raise StepError(f"{LINK_PROBLEM} Got {link!r}.")
        entries = notifications.split_recipients(ctx.resolve(ctx.settings.get("to")))
        try:
            users = notifications.recipients(ctx.workspace, entries)
        except notifications.UnknownRecipient as error:
            raise StepError(str(error)) from error
        rows = notifications.notify_users(
            ctx.workspace,
            users,
            title=ctx.resolve(ctx.settings.get("title")) or "",
            message=ctx.resolve(ctx.settings.get("message")) or "",
            link=link,
            run=ctx.run,
            step_id=ctx.step["id"],
        )
        return {"notification_ids": [str(row.pk) for row in rows]}


LINK_PROBLEM = "link must be a path in the app, starting with / (e.g. /people/…/)."
