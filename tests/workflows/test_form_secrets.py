"""A form step's request never carries a secret in clear (SPEC section 4): the title,
description and fields people see are stored with every secret of the workspace masked."""

import pytest

from tests.workflows.helpers import graph, run_workflow, step
from workflows.models import FormRequest, RunStatus, Secret

pytestmark = pytest.mark.django_db

VALUE = "sk_live_4f9a8b7c6d5e"


@pytest.fixture
def secret(workspace):
    return Secret.objects.create(workspace=workspace, name="API_KEY", value=VALUE)


def test_a_forms_title_description_and_defaults_never_show_a_secret(secret, workspace):
    form_step = step(
        "approve",
        "form",
        {
            "title": "Approve key {{secrets.API_KEY}}",
            "description": "The key is {{secrets.API_KEY}}; the sender said {{trigger.note}}",
            "fields": [
                {"name": "key", "label": "Key {{secrets.API_KEY}}", "type": "text",
                 "default": "{{secrets.API_KEY}}"},
            ],
        },
    )  # fmt: skip
    run = run_workflow(workspace, graph(form_step), payload={"note": f"use {VALUE}"})
    assert run.status == RunStatus.WAITING, run.error
    form = FormRequest.objects.get(run=run)
    stored = str([form.title, form.description, form.fields])
    assert VALUE not in stored
    assert form.title == "Approve key ***"
    assert form.description == "The key is ***; the sender said use ***"
    assert form.fields[0]["default"] == "***"
