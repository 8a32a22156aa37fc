"""Log in by email (pages) and by API key (REST)."""

import functools
import time

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiKey, Workspace, hash_api_key


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check, first in AUTHENTICATION_BACKENDS. A login from a web request
    always has a request; a call without one (a shell, `Client.login` in tests) has no address
    to count failures under and is not throttled, instead of failing as axes would."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def login_name(request, credentials=None) -> str:
    """The name login throttling counts failures under: the email as the backend matches it
    (case and spaces aside), so `ADA@example.com ` cannot dodge the count of `ada@example.com`."""
    source = credentials if credentials is not None else request.POST
    return (source.get("username") or "").strip().lower()


class EmailBackend(ModelBackend):
    """The login form's `username` field takes the email address (SPEC section 8)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        User = get_user_model()
        user = User.objects.filter(email__iexact=username.strip()).order_by("id").first()
        if user is None:
            user = User.objects.filter(username=username).first()
        if user is None:
            User().set_password(password)  # same cost as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class ApiKeyUser:
    """The identity of a request made with an API key: it acts as an admin of its workspace."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    email = ""

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}…"


# The columns read on every API request; the other fields load on access (like `.only()`).
_KEY_COLUMNS = ("id", "workspace_id", "name", "prefix")
_WORKSPACE_COLUMNS = ("id", "name", "slug")


def find_active_key(raw_key: str) -> ApiKey | None:
    """The unrevoked API key `raw_key`, with its workspace loaded, in one query.

    Hand-written SQL because this runs on every API request: the ORM spent longer compiling
    the same SELECT ... JOIN than inserting a record (see bench/bench_records.py).
    """
    key_hash = hash_api_key(raw_key)
    with connection.cursor() as cursor:
        cursor.execute(_key_lookup_sql(), [key_hash, False])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_KEY_COLUMNS)
    key = ApiKey.from_db(connection.alias, _KEY_COLUMNS, row[:split])
    key.key_hash = key_hash
    key.workspace = Workspace.from_db(connection.alias, _WORKSPACE_COLUMNS, row[split:])
    return key


@functools.cache
def _key_lookup_sql() -> str:
    quote = connection.ops.quote_name

    def columns(model, names):
        # Model.from_db takes values in the model's field order.
        fields = [f for f in model._meta.concrete_fields if f.attname in names]
        assert [f.attname for f in fields] == list(names)
        return [f"{quote(model._meta.db_table)}.{quote(f.column)}" for f in fields]

    keys, workspaces = quote(ApiKey._meta.db_table), quote(Workspace._meta.db_table)
    selected = columns(ApiKey, _KEY_COLUMNS) + columns(Workspace, _WORKSPACE_COLUMNS)
    return (
        f"SELECT {', '.join(selected)} FROM {keys} "
        f"JOIN {workspaces} ON {workspaces}.{quote('id')} = {keys}.{quote('workspace_id')} "
        f"WHERE {keys}.{quote('key_hash')} = %s AND {keys}.{quote('revoked')} = %s"
    )


# When this process last wrote each key's last_used_at: written at most once a minute per key
# and process, so a busy API client does not turn every read into a write.
_last_use_written: dict[str, float] = {}
LAST_USED_RESOLUTION_S = 60


def _note_use(key: ApiKey) -> None:
    now = time.monotonic()
    last = _last_use_written.get(key.key_hash)
    if last is None or now - last >= LAST_USED_RESOLUTION_S:
        _last_use_written[key.key_hash] = now
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword:
            raise exceptions.AuthenticationFailed(
                "Use the header 'Authorization: Bearer <api key>'."
            )
        key = find_active_key(parts[1])
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        _note_use(key)
        request._request.workspace = key.workspace
        request._request.membership = None
        return ApiKeyUser(key), key

    def authenticate_header(self, request):
        return self.keyword
