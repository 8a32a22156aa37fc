"""The admin cannot move a workflow, or what belongs to one, to another workspace: a changed
`workspace` would leave its versions, runs and secrets behind in the old one."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import make_workspace
from workflows import services
from workflows.models import Secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(superuser)
    return client


@pytest.fixture
def other():
    return make_workspace("globex")


def test_a_workflows_workspace_cannot_be_changed_in_the_admin(admin_client, workspace, other):
    workflow = services.create_workflow(workspace, "Lead capture")
    url = reverse("admin:workflows_workflow_change", args=[workflow.pk])
    page = admin_client.get(url)
    assert b'name="workspace"' not in page.content
    response = admin_client.post(
        url, {"workspace": other.pk, "name": "Moved", "description": "", "_save": "Save"}
    )
    assert response.status_code in (200, 302)
    workflow.refresh_from_db()
    assert workflow.workspace == workspace


def test_a_secrets_workspace_cannot_be_changed_in_the_admin(admin_client, workspace, other):
    secret = Secret.objects.create(workspace=workspace, name="API_KEY", value="s3cret")
    url = reverse("admin:workflows_secret_change", args=[secret.pk])
    assert b'name="workspace"' not in admin_client.get(url).content
    admin_client.post(url, {"workspace": other.pk, "name": "API_KEY", "value": "", "_save": "1"})
    secret.refresh_from_db()
    assert secret.workspace == workspace and secret.value == "s3cret"


@pytest.mark.parametrize("model", ["workflow", "secret"])
def test_a_new_one_is_still_added_to_the_chosen_workspace(admin_client, model):
    page = admin_client.get(reverse(f"admin:workflows_{model}_add"))
    assert b'name="workspace"' in page.content


@pytest.mark.parametrize("model", ["workflowversion", "workflowrun", "steprun", "formrequest"])
def test_versions_runs_and_forms_cannot_be_changed_at_all(model):
    from django.contrib import admin

    model_admin = admin.site._registry[apps.get_model("workflows", model)]
    assert not model_admin.has_change_permission(request=None)
