"""Workflows in the Ctrl/⌘+K search (crm/search.py), registered in WorkflowsConfig.ready."""

from django.urls import reverse

from crm.search import SearchGroup, SearchHit

from .selectors import workflows_in


def workflow_hits(workspace, text: str, limit: int) -> SearchGroup:
    workflows = workflows_in(workspace, search=text)[:limit]
    hits = [
        SearchHit(
            name=workflow.name,
            url=reverse("workflow-detail", args=[workflow.pk]),
            meta=workflow.get_status_display(),
        )
        for workflow in workflows
    ]
    return SearchGroup("Workflows", hits, icon="workflow")
