"""Channels consumers: the live run view (SPEC section 8).

The consumer watches the run in the database rather than waiting for messages from workers:
that works with the embedded in-memory channel layer, where workers (other processes) cannot
reach the web process, and costs one small query per open run view every half second.
"""

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db.models import Count, Max
from django.template.loader import render_to_string

from crm.workspaces import membership_for_user

from ..models import StepRun, WorkflowRun

POLL_SECONDS = 0.5
FINISHED_CLOSE_CODE = 4000


class RunConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.run_id = self.scope["url_route"]["kwargs"]["run_id"]
        self.membership = await database_sync_to_async(membership_for_user)(self.scope["user"])
        allowed = (
            self.membership
            and await database_sync_to_async(
                WorkflowRun.objects.filter(
                    pk=self.run_id, workspace=self.membership.workspace
                ).exists
            )()
        )
        if not allowed:
            await self.close()
            return
        await self.accept()
        self.watcher = asyncio.ensure_future(self.watch())

    async def disconnect(self, code):
        watcher = getattr(self, "watcher", None)
        if watcher:
            watcher.cancel()

    async def watch(self):
        last = None
        while True:
            signature, finished = await database_sync_to_async(self.signature)()
            if signature != last:
                last = signature
                await self.send(text_data=await database_sync_to_async(self.render)())
            if finished:
                await self.close(code=FINISHED_CLOSE_CODE)
                return
            await asyncio.sleep(POLL_SECONDS)

    def signature(self):
        run = WorkflowRun.objects.filter(pk=self.run_id).values("status", "finished_at").first()
        steps = StepRun.objects.filter(run_id=self.run_id).aggregate(
            n=Count("id"), last=Max("sequence"), done=Count("finished_at"), attempts=Max("attempts")
        )
        finished = run is None or run["status"] in WorkflowRun.FINISHED
        return (run, steps), finished

    def render(self) -> str:
        run = WorkflowRun.objects.select_related("workflow", "version", "started_by").get(
            pk=self.run_id
        )
        return render_to_string(
            "workflows/_run_steps.html",
            {
                "run": run,
                "steps": StepRun.objects.filter(run=run).order_by("sequence"),
                "can_manage": self.membership.can_manage,
                "emails": run.emails.all()[:50],
                # The page's forms (cancel, retry) need a CSRF token; the cookie's secret is one.
                "csrf_token": self.scope.get("cookies", {}).get("csrftoken", ""),
            },
        )
