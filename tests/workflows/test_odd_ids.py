"""Ids and numbers of any shape answer 404 or are ignored, never a 500: "²" is a digit to
`str.isdigit()` but not to `int()` (found by schemathesis, tests/test_api_schemathesis.py)."""

import pytest
from django.test import Client

from workflows import services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@pytest.mark.parametrize("key", ["%C2%B21", "%C2%B3", "99999999999999999999999"])
def test_a_secret_id_of_any_shape_is_not_found(api, method, key):
    response = getattr(api, method)(f"/api/v1/secrets/{key}/", {"value": "x"}, format="json")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_a_version_number_of_any_shape_shows_the_workflow(owner, workspace):
    workflow = services.create_workflow(workspace, "Lead capture")
    client = Client()
    client.force_login(owner)
    assert client.get(f"/workflows/{workflow.pk}/?version=%C2%B2").status_code == 200
