"""The socket of one open page of a signed-in user (SPEC section 8, "live").

Every page opens `/ws/live/` (the bell, the forms inbox); a run view adds `?run=<id>` (or
connects to `/ws/runs/<id>/`), a record page `?record=<id>`. The consumer joins the groups of
the user's workspace that the page needs and forwards what concerns this user: forms only when
assigned to them, their role or anyone; notifications only their own. It reads the database
on connect only: events carry what the page shows (docs/live.md).
"""

import json
from types import SimpleNamespace
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime

from crm.ids import parse_uuid
from crm.workspaces import membership_for_user

from ..models import WorkflowRun
from ..templatetags.workflow_pages import status_badge
from . import events
from .relay import relay

UNAUTHORISED = 4401
NOT_FOUND = 4404


class LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self):
        self.groups_joined = []
        user = self.scope.get("user")
        membership = await database_sync_to_async(membership_for_user)(user)
        if membership is None:
            await self.close(code=UNAUTHORISED)
            return
        self.user_id, self.role = user.pk, membership.role
        self.can_manage = membership.can_manage
        workspace_id = membership.workspace_id
        groups = [events.forms_group(workspace_id), events.user_group(workspace_id, user.pk)]
        query = parse_qs(self.scope.get("query_string", b"").decode())
        kwargs = self.scope.get("url_route", {}).get("kwargs", {})
        run_text = kwargs.get("run_id") or (query.get("run") or [None])[0]
        if run_text is not None:
            run_id = parse_uuid(run_text)
            if run_id is None or not await run_in_workspace(run_id, workspace_id):
                await self.close(code=NOT_FOUND)
                return
            groups.append(events.run_group(workspace_id, run_id))
        record_text = (query.get("record") or [None])[0]
        if record_text is not None:
            record_id = parse_uuid(record_text)
            if record_id is None:
                await self.close(code=NOT_FOUND)
                return
            # The group is the workspace's, so a record id of another workspace hears nothing.
            groups.append(events.record_group(workspace_id, record_id))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        if events.uses_table():
            relay.attach()
            self.attached = True
        await self.accept()
        await self.send_json({"type": "ready"})

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "attached", False):
            relay.detach()
            self.attached = False

    async def receive_json(self, content, **kwargs):
        """Pages only listen; anything they send is ignored."""

    async def live_batch(self, message):
        """One frame for the whole batch: a message alone, several as `{"type": "batch"}`."""
        events = message["events"]
        # Only forms depend on who listens: the frame's text is built once per process, batch
        # and audience, however many sockets receive it.
        kept = tuple(i for i, event in enumerate(events) if self.wants(event))
        if not kept:
            return
        key = (message.get("batch"), kept)
        text = _frame_cache.get(key) if key[0] else None
        if text is None:
            outgoing = [self.message_for(events[i]) for i in kept]
            frame = outgoing[0] if len(outgoing) == 1 else {"type": "batch", "events": outgoing}
            text = json.dumps(frame)
            if key[0]:
                _frame_cache[key] = text
                if len(_frame_cache) > 256:
                    _frame_cache.pop(next(iter(_frame_cache)))
        await self.send(text_data=text)

    def wants(self, event: dict) -> bool:
        kind = event.get("type")
        if kind in ("form.created", "form.closed"):
            return self.may_fill(event)
        return kind in ("step", "run", "notification", "notification.read")

    def message_for(self, event: dict) -> dict | None:
        kind = event.get("type")
        if kind == "step":
            return {
                "type": "step",
                "run": event["run"],
                "step_id": event["step_id"],
                "scope": event["scope"],
                "status": event["status"],
                "html": step_html(event["id"], event),
                "at": event.get("at"),
            }
        if kind == "run":
            return {
                "type": "run",
                "run": event["run"],
                "status": event["status"],
                "badge": str(status_badge(event["status"])),
                "waiting_for": event.get("waiting_for") or "",
                "finished": event["status"] in WorkflowRun.FINISHED,
                "at": event.get("at"),
            }
        if kind in ("form.created", "form.closed"):
            if not self.may_fill(event):
                return None
            return {
                "type": kind,
                "form": event["form"],
                "title": event.get("title", ""),
                "at": event.get("at"),
            }
        if kind == "notification":
            keys = ("type", "id", "title", "message", "link", "read", "created_at", "unread", "at")
            return {k: event.get(k) for k in keys}
        if kind == "notification.read":
            return {k: event.get(k) for k in ("type", "ids", "unread", "at")}
        return None

    def may_fill(self, event: dict) -> bool:
        """The audience of a form (SPEC section 2: assigned to them, their role, or anyone)."""
        assignee = event.get("assignee_id")
        if assignee is not None:
            return assignee == self.user_id
        if event.get("assignee_role") == "admin":
            return self.can_manage
        return True


@database_sync_to_async
def run_in_workspace(run_id, workspace_id) -> bool:
    return WorkflowRun.objects.filter(pk=run_id, workspace_id=workspace_id).exists()


def step_html(event_id: str, event: dict) -> str:
    """The step list's row for this step run, rendered once per event and process however
    many sockets show it."""
    cached = _render_cache.get(event_id)
    if cached is None:
        step = SimpleNamespace(
            **{
                **event,
                "type": event.get("step_type", ""),
                "started_at": parse_datetime(event["started_at"] or "") or None,
                "finished_at": parse_datetime(event["finished_at"] or "") or None,
            }
        )
        cached = render_to_string("workflows/_run_step.html", {"step": step})
        _render_cache[event_id] = cached
        if len(_render_cache) > 512:
            _render_cache.pop(next(iter(_render_cache)))
    return cached


_render_cache: dict[str, str] = {}
# (batch id, the events this audience gets) -> the frame's JSON; a batch id is one group
# message's, so a hit is the same frame for another socket of this process.
_frame_cache: dict[tuple, str] = {}
