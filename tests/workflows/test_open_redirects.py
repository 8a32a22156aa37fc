"""No open redirects: a page action goes back to `next` or the Referer only when it is a path of
this site; anything else (another host, a scheme-relative `//host`, `javascript:`) goes to the
action's own page."""

import pytest
from django.test import Client

from crm.models import Role
from tests.conftest import make_user
from workflows import services

pytestmark = pytest.mark.django_db

OUTSIDE = [
    "https://evil.example/",
    "//evil.example/x",
    "javascript:alert(1)",
    "http:/\\evil.example",
]


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def workflow(workspace):
    return services.create_workflow(workspace, "Lead capture")


@pytest.mark.parametrize("target", OUTSIDE)
def test_a_lifecycle_action_does_not_follow_a_next_to_another_site(browser, workflow, target):
    response = browser.post(f"/workflows/{workflow.pk}/activate/", {"next": target})
    assert response.status_code == 302
    assert response["Location"] == f"/workflows/{workflow.pk}/"


def test_a_lifecycle_action_follows_a_next_on_this_site(browser, workflow):
    response = browser.post(f"/workflows/{workflow.pk}/deactivate/", {"next": "/workflows/?q=a"})
    assert response["Location"] == "/workflows/?q=a"


@pytest.mark.parametrize("target", OUTSIDE)
def test_a_failed_manual_run_does_not_follow_a_next_to_another_site(browser, workflow, target):
    response = browser.post(f"/workflows/{workflow.pk}/run/", {"next": target})
    assert response.status_code == 302
    assert response["Location"] == f"/workflows/{workflow.pk}/"


@pytest.mark.parametrize("target", OUTSIDE)
def test_a_refused_member_is_not_sent_to_a_referer_on_another_site(workspace, workflow, target):
    client = Client()
    client.force_login(make_user("member@example.com", workspace, Role.MEMBER))
    response = client.post(f"/workflows/{workflow.pk}/activate/", HTTP_REFERER=target)
    assert response.status_code == 302
    assert response["Location"] == "/workflows/"


def test_a_refused_member_goes_back_to_a_referer_on_this_site(workspace, workflow):
    client = Client()
    client.force_login(make_user("member@example.com", workspace, Role.MEMBER))
    referer = f"http://testserver/workflows/{workflow.pk}/"
    response = client.post(f"/workflows/{workflow.pk}/activate/", HTTP_REFERER=referer)
    assert response["Location"] == referer


@pytest.mark.parametrize("target", OUTSIDE)
def test_logging_in_does_not_follow_a_next_to_another_site(owner, target):
    response = Client().post(
        "/accounts/login/", {"username": owner.email, "password": "pw", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
