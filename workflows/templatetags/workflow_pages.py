"""Small display helpers for workflow pages."""

import json

from django import template
from django.utils.html import format_html

from ..steps import get_handler
from ..triggers.kinds import get_kind

register = template.Library()

# Record triggers read better naming their object ("Company created"); every other kind, and any
# kind added later, is shown by its label in the trigger picker (triggers/kinds.py).
TRIGGER_LABELS = {
    "record_created": "{object} created",
    "record_updated": "{object} updated",
    "record_created_or_updated": "{object} created or updated",
    "record_deleted": "{object} deleted",
    "record_archived": "{object} archived",
    "record_restored": "{object} restored",
    "date_relative": "Date of {object}",
}


def _trigger_words(trigger_type, trigger_object) -> str:
    if trigger_type in TRIGGER_LABELS:
        return TRIGGER_LABELS[trigger_type].format(object=str(trigger_object or "record").title())
    kind = get_kind(trigger_type)
    return kind.label if kind else (trigger_type or "No trigger")


@register.simple_tag
def trigger_label(versions) -> str:
    """The trigger of the draft (or the active version) in words."""
    chosen = sorted(versions, key=lambda v: v.status != "draft")
    if not chosen:
        return "—"
    version = chosen[0]
    return _trigger_words(version.trigger_type, version.trigger_object)


@register.simple_tag
def live_version(versions) -> str:
    """The version that runs (or would, once the workflow is activated again)."""
    for version in versions:
        if version.status == "active":
            return f"v{version.number}"
    for version in versions:
        if version.status == "deactivated":
            return f"v{version.number} (off)"
    return "—"


@register.filter
def step_label(step_type: str) -> str:
    """The type's label in the step picker, so the run view names it as the builder does."""
    handler = get_handler(step_type)
    return handler.label if handler else step_type


@register.filter
def trigger_text(trigger: dict) -> str:
    trigger = trigger or {}
    settings = trigger.get("settings") or {}
    return _trigger_words(trigger.get("type"), settings.get("object"))


@register.filter
def pretty_json(value) -> str:
    if value in (None, "", {}, []):
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def duration(step) -> str:
    if not step.started_at or not step.finished_at:
        return ""
    seconds = (step.finished_at - step.started_at).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min"


@register.simple_tag
def status_badge(status: str, label: str = ""):
    return format_html(
        '<span class="badge badge-run-{}">{}</span>',
        status,
        label or status.replace("_", " ").capitalize(),
    )


def _tokens(step) -> dict | None:
    """The Chat Completions `usage` of an AI agent step run, when its output has one."""
    output = getattr(step, "output", None)
    usage = output.get("usage") if isinstance(output, dict) else None
    if getattr(step, "type", "") != "ai_agent" or not isinstance(usage, dict):
        return None
    return usage


def _count(usage: dict, name: str) -> int:
    value = usage.get(name)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _total(usage: dict) -> int:
    return _count(usage, "total_tokens") or (
        _count(usage, "prompt_tokens") + _count(usage, "completion_tokens")
    )


@register.filter
def token_usage(step) -> str:
    """ "1,234 tokens (1,000 prompt, 234 answer)" for an AI agent step run, else ""."""
    usage = _tokens(step)
    if not usage:
        return ""
    return (
        f"{_total(usage):,} tokens ({_count(usage, 'prompt_tokens'):,} prompt, "
        f"{_count(usage, 'completion_tokens'):,} answer)"
    )


@register.simple_tag
def run_tokens(steps) -> str:
    """The tokens every AI agent step of a run used, "" when it has none."""
    usages = [usage for usage in map(_tokens, steps) if usage]
    return f"{sum(map(_total, usages)):,}" if usages else ""
