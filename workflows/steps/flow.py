"""Flow steps: filter, if/else, iterator and delay."""

import datetime as dt

from django.utils import timezone

from .. import conditions, runtime
from ..conditions import as_datetime
from ..settings_schema import Setting
from . import register
from .base import Park, StepContext, StepError, StepHandler, StepResult

MAX_ITEMS = 10_000
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
WHEN = Setting("when", "condition", label="Condition", required=True, templates=True)


@register
class Filter(StepHandler):
    type = "filter"
    label = "Filter"
    group = "Flow"
    outputs = ("passed",)
    settings_schema = (WHEN,)

    def execute(self, ctx):
        passed = conditions.evaluate(ctx.settings["when"], ctx.data)
        return StepResult({"passed": passed}, skipped=not passed, next=None if passed else [])

    def next_steps(self, step, output):
        return list(step.get("next") or []) if (output or {}).get("passed") else []


@register
class IfElse(StepHandler):
    type = "if_else"
    label = "If / else"
    group = "Flow"
    outputs = ("branch",)
    settings_schema = (
        Setting("branches", "branches", label="Branches", required=True, templates=True),
        Setting("else_next", "step_ids"),
    )

    def validate_settings(self, settings, graph):
        branches = settings.get("branches")
        if not isinstance(branches, list):
            return []
        problems = []
        names = set()
        for index, branch in enumerate(branches):
            if not isinstance(branch, dict):
                problems.append(f"branches.{index} must be an object.")
                continue
            name = branch.get("name")
            if not isinstance(name, str) or not name or name == "else":
                problems.append(f"branches.{index}.name must be a name other than 'else'.")
            elif name in names:
                problems.append(f"Two branches are named '{name}'.")
            names.add(name)
            problems += conditions.validate(branch.get("when"), where=f"branches.{index}.when")
        return problems

    def execute(self, ctx):
        for branch in ctx.settings["branches"]:
            if conditions.evaluate(branch["when"], ctx.data):
                return StepResult({"branch": branch["name"]}, next=list(branch.get("next") or []))
        return StepResult({"branch": "else"}, next=list(ctx.settings.get("else_next") or []))

    def next_steps(self, step, output):
        settings = step.get("settings") or {}
        taken = (output or {}).get("branch")
        for branch in settings.get("branches") or []:
            if branch.get("name") == taken:
                return list(branch.get("next") or [])
        return list(settings.get("else_next") or [])


@register
class Iterator(StepHandler):
    """The engine runs the body for each item; this handler only resolves the items."""

    type = "iterator"
    label = "Iterator"
    group = "Flow"
    outputs = ("item", "index", "count", "results")
    loops = True
    settings_schema = (
        Setting(
            "items",
            "text",
            label="Items",
            required=True,
            templates=True,
            help="A template giving a list, like {{steps.find.records}}.",
        ),
        Setting("loop", "step_ids"),
    )

    def validate_settings(self, settings, graph):
        loop = settings.get("loop")
        if not isinstance(loop, list) or not loop:
            return ["loop is empty: add a step inside the iterator (loop lists its body's first steps)."]
        return []

    def items(self, ctx: StepContext) -> list:
        items = ctx.resolve(ctx.settings.get("items"))
        if items is None:
            return []
        if not isinstance(items, list):
            raise StepError(f"items must be a list, got {type(items).__name__}.")
        if len(items) > MAX_ITEMS:
            from .base import LimitExceeded

            raise LimitExceeded(
                f"An iterator takes at most {MAX_ITEMS:,} items; got {len(items):,}."
            )
        return items


def duration_seconds(duration) -> float:
    if not isinstance(duration, dict):
        raise StepError("duration must be {amount, unit}.")
    unit = duration.get("unit")
    amount = duration.get("amount")
    if unit not in UNITS:
        raise StepError(f"duration.unit must be one of {', '.join(UNITS)}.")
    try:
        amount = float(amount)
    except (TypeError, ValueError):
        raise StepError("duration.amount must be a number.") from None
    if amount < 0:
        raise StepError("duration.amount cannot be negative.")
    return amount * UNITS[unit]


@register
class Delay(StepHandler):
    type = "delay"
    label = "Delay"
    group = "Flow"
    outputs = ("resumed_at",)
    settings_schema = (
        Setting(
            "duration",
            "group",
            label="Wait for",
            children=(
                Setting("amount", "number", label="Amount", templates=True, minimum=0),
                Setting("unit", "choice", label="Unit", choices=tuple(UNITS), default="minutes"),
            ),
        ),
        Setting(
            "until",
            "text",
            label="Or wait until",
            templates=True,
            help="A template giving an ISO date and time, e.g. {{trigger.record.due_at}}.",
        ),
    )

    def validate_settings(self, settings, graph):
        if ("duration" in settings) == ("until" in settings):
            return ["Give either duration {amount, unit} or until (an ISO datetime template)."]
        duration = settings.get("duration")
        if isinstance(duration, dict) and duration.get("amount") in (None, ""):
            return ["duration.amount is required."]
        return []

    def wake_time(self, ctx: StepContext) -> dt.datetime:
        if "until" in ctx.settings:
            until = as_datetime(ctx.resolve(ctx.settings["until"]))
            if until is None:
                raise StepError("until must resolve to an ISO date or datetime.")
            return until
        seconds = duration_seconds(ctx.resolve(ctx.settings["duration"]))
        return ctx.started_at + dt.timedelta(seconds=seconds)

    def execute(self, ctx):
        wake = self.wake_time(ctx)
        now = timezone.now()
        if wake <= now:
            return {"resumed_at": now.isoformat()}
        if ctx.dry_run:  # a dry run cannot park: its writes roll back when it stops
            runtime.add_notice(f"Dry run: the wait until {wake.isoformat()} was skipped.")
            return {"resumed_at": now.isoformat(), "would_resume_at": wake.isoformat()}
        raise Park(resume_at=wake)
