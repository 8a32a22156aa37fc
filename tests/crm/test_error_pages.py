"""Branded error pages (issue 17): a 404 keeps the navigation; a 500 needs no context."""

import pytest
from django.template.loader import render_to_string
from django.test import Client

from crm.models import Role
from tests.conftest import make_user, make_workspace

pytestmark = pytest.mark.django_db


def test_an_unknown_address_shows_the_branded_404_with_the_navigation():
    client = Client()
    client.force_login(make_user("owner@example.com", workspace=make_workspace(), role=Role.OWNER))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "This page does not exist" in page
    assert 'aria-label="Main"' in page  # the sidebar's navigation
    assert "Go to Home" in page


def test_a_record_of_another_workspace_is_the_same_branded_404():
    from crm.models import Company

    theirs = Company.objects.create(workspace=make_workspace("other"), name="Theirs")
    client = Client()
    client.force_login(make_user("owner@example.com", workspace=make_workspace(), role=Role.OWNER))
    response = client.get(f"/companies/{theirs.pk}/")
    assert response.status_code == 404
    assert b"This page does not exist" in response.content


def test_the_500_page_renders_without_any_context():
    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page
    assert "app.css" in page
