"""`published_by` is the publisher's email, or `api key: <name>` for a version published with an
API key (SPEC section 7), in the API and on the pages."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from crm.models import ApiKey
from workflows import services

from .helpers import graph, step

pytestmark = pytest.mark.django_db

DRAFT = graph(step("make", "create_record", {"object": "task", "values": {"title": "x"}}))


@pytest.fixture
def key_client(workspace):
    _, raw = ApiKey.issue(workspace, name="Zapier sync")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def workflow(workspace):
    workflow = services.create_workflow(workspace, "Follow-up")
    draft = workflow.draft
    draft.graph = DRAFT
    draft.save()
    return workflow


def test_a_version_published_with_an_api_key_says_which_key(key_client, workflow):
    published = key_client.post(f"/api/v1/workflows/{workflow.pk}/publish/")
    assert published.status_code == 200, published.content
    assert published.json()["published_by"] == "api key: Zapier sync"
    versions = key_client.get(f"/api/v1/workflows/{workflow.pk}/versions/").json()["results"]
    assert versions[0]["published_by"] == "api key: Zapier sync"


def test_a_version_published_by_a_person_shows_their_email(owner, workflow):
    client = APIClient()
    client.force_authenticate(owner)
    published = client.post(f"/api/v1/workflows/{workflow.pk}/publish/").json()
    assert published["published_by"] == owner.email


def test_the_versions_on_the_workflow_page_name_the_api_key(key_client, owner, workflow):
    key_client.post(f"/api/v1/workflows/{workflow.pk}/publish/")
    browser = Client()
    browser.force_login(owner)
    page = browser.get(f"/workflows/{workflow.pk}/?tab=versions")
    assert "api key: Zapier sync" in page.content.decode()
