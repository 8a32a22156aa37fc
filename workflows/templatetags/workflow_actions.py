"""Workflow actions that other apps' pages plug in (the record lists' "Run workflow")."""

from django import template

from .. import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def manual_workflows(context, obj) -> list:
    """The workspace's active manual workflows that take records of `obj`."""
    request = context.get("request")
    workspace = getattr(request, "workspace", None)
    if not workspace:
        return []
    return list(selectors.manual_workflows_for(workspace, obj.name))
