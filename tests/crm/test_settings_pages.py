"""The workspace settings pages: name, members and roles, API keys (issue 17, SPEC section 2)."""

import pytest
from django.test import Client

from crm.models import ApiKey, Membership, Role
from tests.conftest import make_user, make_workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return make_workspace("acme", "Acme")


def signed_in(workspace, email="owner@example.com", role=Role.OWNER) -> Client:
    client = Client()
    client.force_login(make_user(email, workspace=workspace, role=role))
    return client


def membership(workspace, email) -> Membership:
    return Membership.objects.get(workspace=workspace, user__email=email)


# --- Workspace name -----------------------------------------------------------------------


def test_an_owner_renames_the_workspace(acme):
    client = signed_in(acme)
    response = client.post("/settings/general/", {"name": "  Acme Corp "}, follow=True)
    assert response.status_code == 200
    acme.refresh_from_db()
    assert acme.name == "Acme Corp"
    assert b"Saved the workspace" in response.content


def test_a_blank_name_is_an_inline_error_and_keeps_the_old_one(acme):
    response = signed_in(acme).post("/settings/general/", {"name": "  "})
    assert response.status_code == 400
    assert b"The workspace needs a name." in response.content
    acme.refresh_from_db()
    assert acme.name == "Acme"


def test_a_member_sees_the_settings_but_cannot_change_them(acme):
    client = signed_in(acme, "member@example.com", Role.MEMBER)
    page = client.get("/settings/general/")
    assert page.status_code == 200 and b"Only owners and admins" in page.content
    assert client.post("/settings/general/", {"name": "Mine"}).status_code == 403
    acme.refresh_from_db()
    assert acme.name == "Acme"


# --- Members ------------------------------------------------------------------------------


def test_an_admin_adds_a_member_who_can_then_sign_in_to_the_workspace(acme):
    client = signed_in(acme, "admin@example.com", Role.ADMIN)
    response = client.post(
        "/settings/members/", {"action": "invite", "email": "New@Example.com", "role": "member"}
    )
    assert response.status_code == 302
    added = membership(acme, "new@example.com")
    assert added.role == Role.MEMBER
    assert b"new@example.com" in client.get("/settings/members/").content


def test_adding_someone_twice_or_a_bad_email_explains_why(acme):
    client = signed_in(acme)
    first = client.post("/settings/members/", {"action": "invite", "email": "owner@example.com"})
    assert first.status_code == 400 and b"already a member" in first.content
    bad = client.post("/settings/members/", {"action": "invite", "email": "not-an-email"})
    assert bad.status_code == 400 and b"Enter a valid email address." in bad.content
    assert Membership.objects.filter(workspace=acme).count() == 1


def test_an_owner_changes_a_role(acme):
    client = signed_in(acme)
    make_user("ada@example.com", workspace=acme, role=Role.MEMBER)
    target = membership(acme, "ada@example.com")
    client.post("/settings/members/", {"action": "role", "membership": target.pk, "role": "admin"})
    target.refresh_from_db()
    assert target.role == Role.ADMIN


def test_only_an_owner_makes_or_removes_an_owner(acme):
    make_user("owner@example.com", workspace=acme, role=Role.OWNER)
    admin = signed_in(acme, "admin@example.com", Role.ADMIN)
    make_user("ada@example.com", workspace=acme, role=Role.MEMBER)
    ada, owner = membership(acme, "ada@example.com"), membership(acme, "owner@example.com")
    promote = {"action": "role", "membership": ada.pk, "role": "owner"}
    assert admin.post("/settings/members/", promote).status_code == 403
    remove = {"action": "remove", "membership": owner.pk}
    assert admin.post("/settings/members/", remove).status_code == 403
    ada.refresh_from_db()
    assert ada.role == Role.MEMBER
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_the_last_owner_can_neither_step_down_nor_be_removed(acme):
    client = signed_in(acme)
    me = membership(acme, "owner@example.com")
    demote = client.post(
        "/settings/members/", {"action": "role", "membership": me.pk, "role": "member"}
    )
    assert demote.status_code == 400 and b"at least one owner" in demote.content
    remove = client.post("/settings/members/", {"action": "remove", "membership": me.pk})
    assert remove.status_code == 400
    me.refresh_from_db()
    assert me.role == Role.OWNER


def test_an_owner_removes_a_member(acme):
    client = signed_in(acme)
    make_user("ada@example.com", workspace=acme, role=Role.MEMBER)
    ada = membership(acme, "ada@example.com")
    assert (
        client.post("/settings/members/", {"action": "remove", "membership": ada.pk}).status_code
        == 302
    )
    assert not Membership.objects.filter(pk=ada.pk).exists()


@pytest.mark.parametrize("pk", ["", "abc", "99999999999999999999999", "-1"])
def test_a_member_id_of_any_shape_or_of_another_workspace_is_a_404(acme, pk):
    client = signed_in(acme)
    other = make_workspace("other")
    make_user("them@example.com", workspace=other, role=Role.MEMBER)
    theirs = membership(other, "them@example.com")
    for value in (pk, theirs.pk):
        response = client.post("/settings/members/", {"action": "remove", "membership": value})
        assert response.status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_settings_forms_need_the_csrf_token(acme):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("owner@example.com", workspace=acme, role=Role.OWNER))
    assert client.post("/settings/general/", {"name": "Hijacked"}).status_code == 403


# --- API keys -----------------------------------------------------------------------------


def _create_key(client, name="Zapier"):
    response = client.post("/settings/api-keys/", {"action": "create", "name": name})
    assert response.status_code == 200
    raw = response.context["new_key"]["raw"]
    return response, raw


def test_a_new_key_is_shown_once_and_works_against_the_api(acme):
    client = signed_in(acme)
    response, raw = _create_key(client)
    assert raw.encode() in response.content
    assert b"shown only this once" in response.content
    assert raw.encode() not in client.get("/settings/api-keys/").content
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/companies/").status_code == 200
    key = ApiKey.objects.get(workspace=acme, name="Zapier")
    assert key.last_used_at is not None
    assert raw not in key.key_hash  # only its hash is kept


def test_a_revoked_key_is_refused_by_the_api(acme):
    client = signed_in(acme)
    _, raw = _create_key(client)
    key = ApiKey.objects.get(workspace=acme)
    assert (
        client.post("/settings/api-keys/", {"action": "revoke", "key": key.pk}).status_code == 302
    )
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/companies/").status_code == 401
    assert b"Revoked" in client.get("/settings/api-keys/").content


def test_a_key_needs_a_name(acme):
    response = signed_in(acme).post("/settings/api-keys/", {"action": "create", "name": " "})
    assert response.status_code == 400 and b"Give the key a name" in response.content
    assert not ApiKey.objects.exists()


def test_members_cannot_create_or_revoke_keys_and_keys_of_other_workspaces_are_404(acme):
    member = signed_in(acme, "member@example.com", Role.MEMBER)
    assert member.post("/settings/api-keys/", {"action": "create", "name": "x"}).status_code == 403
    theirs, _ = ApiKey.issue(make_workspace("other"), "Theirs")
    owner = signed_in(acme)
    response = owner.post("/settings/api-keys/", {"action": "revoke", "key": theirs.pk})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert not theirs.revoked


def test_a_new_member_with_a_password_can_sign_in(acme):
    signed_in(acme).post(
        "/settings/members/",
        {
            "action": "invite",
            "email": "ada@example.com",
            "role": "member",
            "password": "s3cret-Lovelace",
        },
    )
    assert Client().login(username="ada@example.com", password="s3cret-Lovelace")


def test_adding_an_existing_account_never_changes_its_password(acme):
    make_user("them@example.com", workspace=make_workspace("other"), password="theirs-1234")
    response = signed_in(acme).post(
        "/settings/members/",
        {"action": "invite", "email": "them@example.com", "password": "mine-12345678"},
    )
    assert response.status_code == 400 and b"already has an account" in response.content
    assert Client().login(username="them@example.com", password="theirs-1234")
