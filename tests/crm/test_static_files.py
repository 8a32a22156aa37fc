"""Static files with DEBUG off: hashed names from `collectstatic`, served by WhiteNoise (no
separate web server), with a far-future cache header."""

import re

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture
def collected(tmp_path):
    with override_settings(
        STORAGES=PRODUCTION_STORAGES,
        STATIC_ROOT=str(tmp_path),
        WHITENOISE_USE_FINDERS=False,
        WHITENOISE_AUTOREFRESH=False,
    ):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield tmp_path


def test_pages_link_hashed_static_files_that_are_served_for_a_year(db, collected):
    page = Client().get("/accounts/login/").content.decode()
    url = re.search(r'href="(/static/app/app\.[0-9a-f]{12}\.css)"', page).group(1)
    response = Client().get(url)
    assert response.status_code == 200
    assert "max-age=315360000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]


def test_the_admins_and_the_api_docs_static_files_are_served(db, collected):
    for path in ("admin/css/base.css", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"):
        page = Client().get(f"/static/{path}")
        assert page.status_code == 200, path
