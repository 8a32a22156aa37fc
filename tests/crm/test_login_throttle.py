"""Login is throttled: after 5 failed attempts for one email from one address, that email is
locked out from that address for 15 minutes, with a page that says so (django-axes)."""

import pytest
from django.test import Client

from tests.conftest import make_user


@pytest.fixture
def user(db):
    return make_user(email="ada@example.com", password="the-right-one")


def log_in(client: Client, password: str, email: str = "ada@example.com", ip="203.0.113.7"):
    return client.post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_five_wrong_passwords_lock_the_login_out_with_a_clear_message(user):
    client = Client()
    for _ in range(4):
        assert log_in(client, "wrong").status_code == 200  # the form again, with its error
    response = log_in(client, "wrong")
    assert response.status_code == 429
    assert "Too many failed logins for ada@example.com" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()
    # Even the right password is refused while locked out.
    response = log_in(client, "the-right-one")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_does_not_lock_out_another_address_or_another_email(user):
    make_user(email="bob@example.com", password="bobs-own")
    for _ in range(5):
        log_in(Client(), "wrong")
    assert log_in(Client(), "the-right-one", ip="198.51.100.9").status_code == 302
    assert log_in(Client(), "bobs-own", email="bob@example.com").status_code == 302


def test_a_successful_login_before_the_limit_resets_the_count(user):
    for _ in range(4):
        log_in(Client(), "wrong")
    assert log_in(Client(), "the-right-one").status_code == 302
    for _ in range(4):
        assert log_in(Client(), "wrong").status_code == 200
