"""The default workflows every new workspace gets, inactive (SPEC section 9), drawn from the
template gallery (workflows/gallery). They are published once (version 1) and deactivated,
so a team only has to press Activate; they also serve as examples."""

import logging

from django.db import transaction

from .gallery import Template, get_template
from .models import Workflow

logger = logging.getLogger(__name__)

# SPEC section 9: the patterns every new workspace starts with, drawn from the gallery.
DEFAULT_SLUGS = (
    "web-form-lead-capture",
    "data-enrichment",
    "invoice-on-won-deal",
    "stale-opportunity-reminder",
    "qualify-lead-by-form",
    "meeting-reminder",
)
DEFAULT_TEMPLATES: tuple[Template, ...] = tuple(get_template(slug) for slug in DEFAULT_SLUGS)
# (name, description, graph) of each, as the builder's and meeting tests read them.
DEFAULT_WORKFLOWS = [(t.name, t.description, t.graph) for t in DEFAULT_TEMPLATES]


def install_default_workflows(workspace, user=None) -> list[Workflow]:
    """Creates the default workflows in `workspace`, published as version 1 and inactive.
    Idempotent: a workflow whose name exists is left alone."""
    from . import services

    created = []
    existing = set(Workflow.objects.filter(workspace=workspace).values_list("name", flat=True))
    for template in DEFAULT_TEMPLATES:
        name = template.name
        if name in existing:
            continue
        with transaction.atomic():
            workflow = services.create_workflow_from_template(workspace, template.slug, user=user)
            try:
                services.publish(workflow, user=user)
                services.deactivate(workflow)
            except services.WorkflowError as error:
                # Stays a draft; the builder shows the problems.
                logger.warning(
                    "Default workflow %r not published: %s %s",
                    name,
                    error,
                    [p.as_dict() for p in error.problems],
                )
        created.append(workflow)
    return created
