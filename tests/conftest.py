import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from crm.models import ApiKey, Membership, Role, Workspace


@pytest.fixture(autouse=True, scope="session")
def _static_files_from_the_sources(tmp_path_factory):
    """Pages link the source files and they are served as found, as with DEBUG on, so no test
    needs `collectstatic` first; tests/crm/test_static_files.py checks the hashed copies."""
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        STATIC_ROOT=str(tmp_path_factory.mktemp("static")),
        WHITENOISE_USE_FINDERS=True,
        WHITENOISE_AUTOREFRESH=True,
    ):
        yield


@pytest.fixture(autouse=True)
def _inline_engine(settings):
    """Unit tests run the engine in-process; only worker tests start real workers."""
    settings.WORKFLOW_RUN_INLINE = True
    settings.CRM_IMPORT_INLINE = True  # page imports too (crm/imports.py), after the commit


def make_workspace(slug="acme", name=None):
    return Workspace.objects.create(slug=slug, name=name or slug.title())


def make_user(email="owner@example.com", workspace=None, role=Role.OWNER, password="pw"):
    user = get_user_model().objects.create_user(username=email, email=email, password=password)
    if workspace is not None:
        Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


@pytest.fixture
def workspace(db):
    return make_workspace()


@pytest.fixture
def owner(workspace):
    return make_user(workspace=workspace)


@pytest.fixture
def api_key(workspace):
    _, raw = ApiKey.issue(workspace)
    return raw


@pytest.fixture
def api(api_key):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client
