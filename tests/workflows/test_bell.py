"""The top bar's bell (SPEC section 8): unread notifications and forms waiting for me."""

import pytest
from django.test import Client

from crm.models import Role
from tests.conftest import make_user
from workflows import notifications

pytestmark = pytest.mark.django_db


def page_for(user, path="/companies/"):
    client = Client()
    client.force_login(user)
    return client.get(path).content.decode()


def test_every_page_shows_the_bell_with_my_unread_count_and_messages(workspace, owner):
    member = make_user("member@example.com", workspace, Role.MEMBER)
    notifications.notify_users(workspace, [owner], "Call Acme", message="today", link="/companies/")
    notifications.notify_users(workspace, [owner], "Older")
    notifications.notify_users(workspace, [member], "Not for the owner")
    notifications.mark_read(workspace, owner, None)
    notifications.notify_users(workspace, [owner], "Fresh")
    html = page_for(owner)
    assert 'aria-label="Notifications (1 unread)"' in html
    assert "Call Acme" in html and "Fresh" in html and 'href="/companies/"' in html
    assert "Not for the owner" not in html
    assert 'data-live-socket="/ws/live/"' in html


def test_the_bell_lists_forms_waiting_for_me_and_counts_them(workspace, owner):
    from .test_forms_inbox import start_form_run

    start_form_run(workspace, title="Qualify Ada")
    html = page_for(owner, "/")
    assert 'aria-label="Notifications (1 unread)"' in html
    assert "Qualify Ada" in html and "/forms/#form-" in html


def test_the_run_view_opens_its_socket_for_the_run(workspace, owner):
    from .test_forms_inbox import start_form_run

    run = start_form_run(workspace)
    html = page_for(owner, f"/runs/{run.pk}/")
    assert f'data-live-socket="/ws/live/?run={run.pk}"' in html
