"""`create_workspace` and `create_api_key` (SPEC section 1)."""

import io

import pytest
from django.core.management import CommandError, call_command

from crm.models import ApiKey, Membership, Role, Workspace, hash_api_key


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_workspace_creates_it_with_a_name_from_the_slug(db):
    run("create_workspace", "north-wind")

    assert Workspace.objects.get(slug="north-wind").name == "North Wind"


def test_create_workspace_with_an_owner_who_can_log_in(db, client):
    run(
        "create_workspace",
        "acme",
        "--name",
        "Acme Inc",
        "--owner",
        "Boss@Example.com",
        "--password",
        "s3cret-pass",
    )

    workspace = Workspace.objects.get(slug="acme")
    membership = Membership.objects.get(workspace=workspace)
    assert workspace.name == "Acme Inc"
    assert (membership.user.email, membership.role) == ("boss@example.com", Role.OWNER)
    assert client.login(username="boss@example.com", password="s3cret-pass")


def test_create_workspace_twice_changes_nothing(db):
    run("create_workspace", "acme", "--owner", "boss@example.com", "--password", "pw-12345678")

    output = run("create_workspace", "acme", "--owner", "boss@example.com")

    assert "already existed" in output
    assert Workspace.objects.count() == 1
    assert Membership.objects.count() == 1


@pytest.mark.parametrize(
    "args",
    [["Not A Slug"], ["acme", "--owner", "not-an-email"], ["acme", "--password", "pw"]],
)
def test_create_workspace_refuses_bad_arguments(db, args):
    with pytest.raises(CommandError):
        run("create_workspace", *args)
    assert not Workspace.objects.exists()


def test_create_api_key_prints_a_working_key_as_the_last_line(workspace):
    output = run("create_api_key", "--workspace", "acme", "--name", "Zapier")

    raw = output.strip().splitlines()[-1]
    key = ApiKey.objects.get(key_hash=hash_api_key(raw))
    assert (key.workspace, key.name) == (workspace, "Zapier")


def test_the_printed_key_authenticates_api_calls(workspace, client):
    raw = run("create_api_key", "--workspace", "acme").strip().splitlines()[-1]

    response = client.get("/api/v1/people/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200


def test_create_api_key_for_an_unknown_workspace_is_an_error(db):
    with pytest.raises(CommandError, match="No workspace 'nowhere'"):
        run("create_api_key", "--workspace", "nowhere")
    assert not ApiKey.objects.exists()
