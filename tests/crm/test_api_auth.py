"""API keys authenticate requests (SPEC section 7): `Authorization: Bearer <key>`."""

from rest_framework.test import APIClient

from crm.models import ApiKey


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_key_acts_in_its_own_workspace(workspace):
    _, raw = ApiKey.issue(workspace)

    response = bearer(raw).post("/api/v1/companies/", {"name": "Acme"}, format="json")

    assert response.status_code == 201
    assert workspace.pk == ApiKey.objects.get().workspace_id


def test_using_a_key_records_when_it_was_last_used(workspace):
    key, raw = ApiKey.issue(workspace)

    bearer(raw).get("/api/v1/people/")

    key.refresh_from_db()
    assert key.last_used_at is not None


def test_revoking_a_key_takes_effect_on_the_next_request(workspace):
    key, raw = ApiKey.issue(workspace)
    client = bearer(raw)
    assert client.get("/api/v1/people/").status_code == 200

    key.revoked = True
    key.save()

    assert client.get("/api/v1/people/").status_code == 401


def test_a_deleted_workspace_takes_its_keys_with_it(workspace):
    _, raw = ApiKey.issue(workspace)
    workspace.delete()

    assert bearer(raw).get("/api/v1/people/").status_code == 401
