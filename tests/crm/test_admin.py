"""The Django admin of the crm app (SPEC section 8): every page renders for a superuser, and
API keys are shown once, never their hash."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from crm.models import ApiKey, Company, Person, hash_api_key

from .api_factories import make_records

CRM_MODELS = [
    "workspace",
    "membership",
    "apikey",
    "company",
    "person",
    "opportunity",
    "task",
    "note",
]


@pytest.fixture
def admin_client(client, workspace, owner):
    make_records(workspace)
    ApiKey.issue(workspace)
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("model", CRM_MODELS)
@pytest.mark.parametrize("page", ["changelist", "add"])
def test_every_admin_page_renders_for_a_superuser(admin_client, model, page):
    response = admin_client.get(reverse(f"admin:crm_{model}_{page}"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", CRM_MODELS)
def test_every_admin_change_page_renders(admin_client, model):
    from django.apps import apps

    instance = apps.get_model("crm", model).objects.first()

    response = admin_client.get(reverse(f"admin:crm_{model}_change", args=[instance.pk]))

    assert response.status_code == 200


def test_adding_an_api_key_shows_it_once_and_stores_only_its_hash(admin_client, workspace):
    response = admin_client.post(
        reverse("admin:crm_apikey_add"),
        {"workspace": workspace.pk, "name": "From admin"},
        follow=True,
    )

    key = ApiKey.objects.get(name="From admin")
    shown = [str(message) for message in response.context["messages"]]
    raw = next(word for message in shown for word in message.split() if word.startswith("crm_"))
    assert hash_api_key(raw) == key.key_hash
    again = admin_client.get(reverse("admin:crm_apikey_change", args=[key.pk]))
    assert raw not in again.content.decode()
    assert key.key_hash not in again.content.decode()


def test_the_revoke_action_revokes_keys(admin_client, workspace):
    key = ApiKey.objects.get(workspace=workspace)

    admin_client.post(
        reverse("admin:crm_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )

    key.refresh_from_db()
    assert key.revoked


def test_the_admin_refuses_to_link_a_record_to_another_workspace(admin_client, workspace):
    from tests.conftest import make_workspace

    foreign = Company.objects.create(workspace=make_workspace("other"), name="Foreign")

    response = admin_client.post(
        reverse("admin:crm_person_add"),
        {
            "workspace": workspace.pk,
            "first_name": "Eve",
            "company": foreign.pk,
            "currency": "USD",
            "custom": "{}",
            "tags": "[]",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "another workspace" in response.content.decode()
    assert not Person.objects.filter(first_name="Eve").exists()


def test_a_record_added_in_the_admin_is_created_by_the_admin_user(admin_client, workspace):
    admin_client.post(
        reverse("admin:crm_company_add"),
        {"workspace": workspace.pk, "name": "Initech", "custom": "{}", "tags": "[]"},
    )

    assert Company.objects.get(name="Initech").created_by.username == "root"
