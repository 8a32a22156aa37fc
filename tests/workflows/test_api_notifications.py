"""`/api/v1/notifications/` (SPEC section 7): the caller's notifications, newest first, with
the unread count, and marking them read."""

import pytest
from rest_framework.test import APIClient

from crm.models import Role
from tests.conftest import make_user, make_workspace
from workflows import notifications
from workflows.live import events
from workflows.models import Notification

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


def tell(workspace, user, title, **extra):
    (row,) = notifications.notify_users(workspace, [user], title, **extra)
    return row


def test_the_list_shows_my_notifications_newest_first_with_the_unread_count(workspace, owner):
    tell(workspace, owner, "First", message="one", link="/people/")
    second = tell(workspace, owner, "Second")
    Notification.objects.filter(pk=second.pk).update(
        created_at=second.created_at.replace(year=2099)
    )
    body = client_for(owner).get("/api/v1/notifications/").json()
    assert [n["title"] for n in body["results"]] == ["Second", "First"]
    assert (body["count"], body["unread"], body["next"]) == (2, 2, None)
    item = body["results"][1]
    assert set(item) == {"id", "title", "message", "link", "read", "created_at"}
    assert (item["message"], item["link"], item["read"]) == ("one", "/people/", False)


def test_nobody_sees_another_members_or_another_workspaces_notifications(workspace, owner):
    member = make_user("member@example.com", workspace, Role.MEMBER)
    other = make_workspace("other")
    stranger = make_user("stranger@example.com", other, Role.OWNER)
    mine = tell(workspace, member, "For the member")
    tell(other, stranger, "For the stranger")
    assert client_for(owner).get("/api/v1/notifications/").json()["count"] == 0
    answer = client_for(stranger).post(f"/api/v1/notifications/{mine.pk}/read/")
    assert answer.status_code == 404
    assert client_for(owner).post(f"/api/v1/notifications/{mine.pk}/read/").status_code == 404
    assert not Notification.objects.get(pk=mine.pk).read


def test_marking_one_read_answers_it_and_lowers_the_unread_count(
    workspace, owner, published_events, django_capture_on_commit_callbacks
):
    first = tell(workspace, owner, "First")
    tell(workspace, owner, "Second")
    client = client_for(owner)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/api/v1/notifications/{first.pk}/read/")
    assert answer.status_code == 200
    assert (answer.json()["id"], answer.json()["read"]) == (str(first.pk), True)
    assert client.get("/api/v1/notifications/").json()["unread"] == 1
    ((group, event),) = published_events.of_type("notification.read")
    assert group == events.user_group(workspace.pk, owner.pk)
    assert (event["ids"], event["unread"]) == ([str(first.pk)], 1)


def test_marking_all_read_answers_how_many_changed(workspace, owner):
    tell(workspace, owner, "First")
    tell(workspace, owner, "Second")
    client = client_for(owner)
    answer = client.post("/api/v1/notifications/read-all/")
    assert answer.json() == {"marked": 2, "unread": 0}
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 0, "unread": 0}


def test_a_malformed_id_is_a_404_not_a_500(workspace, owner):
    answer = client_for(owner).post("/api/v1/notifications/not-an-id/read/")
    assert answer.status_code == 404


def test_an_api_key_has_no_notifications_of_its_own(api):
    answer = api.get("/api/v1/notifications/")
    assert answer.status_code == 403
    assert "person" in answer.json()["detail"]


def test_the_openapi_document_describes_the_notifications_api(api):
    document = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listing = document["paths"]["/api/v1/notifications/"]["get"]
    assert listing["tags"] == ["notifications"]
    assert "401" in listing["responses"]
    read = document["paths"]["/api/v1/notifications/{id}/read/"]["post"]
    assert {"200", "401", "404"} <= set(read["responses"])
    assert "/api/v1/notifications/read-all/" in document["paths"]
    item = document["components"]["schemas"]["Notification"]
    assert set(item["properties"]) == {"id", "title", "message", "link", "read", "created_at"}
