"""schemathesis over the served OpenAPI document (SPEC section 7): whatever it sends to any
operation, in a workspace of its own, no answer is a server error (5xx).

Bounded for `make test`: a few examples per operation (SCHEMATHESIS_EXAMPLES to raise it)."""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from crm.models import ApiKey
from tests.conftest import make_user, make_workspace

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))


@pytest.fixture
def fuzz_key(db):
    """A workspace of its own, with an owner and a key, so nothing else's data is touched."""
    workspace = make_workspace("schemathesis")
    make_user("fuzz-owner@example.com", workspace)
    _, raw = ApiKey.issue(workspace, name="schemathesis")
    return raw


@pytest.fixture
def wsgi_app():
    """The app as a server runs it, on the test's database connection: like Django's test
    Client, the end of a request must not close the connection the test's transaction is on."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(fuzz_key, wsgi_app):
    return schemathesis.openapi.from_wsgi(
        "/api/schema/", wsgi_app, headers={"Authorization": f"Bearer {fuzz_key}"}
    )


def server_errors(operation, mode, key: str) -> list[str]:
    """The cases of `operation` that got a 5xx, found by Hypothesis from its schema."""
    found = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases every run: a failure can be reproduced
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call(headers={"Authorization": f"Bearer {key}"})
        if response.status_code >= 500:
            found.append(
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r} "
                f"-> {response.status_code}: {response.text[:300]}"
            )

    check()
    return found


def test_no_operation_answers_a_server_error(api_schema, fuzz_key):
    """(The schemathesis pytest plugin does not run under pytest 9, so its strategies are used
    directly, operation by operation.)"""
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += server_errors(operation, mode, fuzz_key)
    assert operations > 40  # the whole document was read
    assert not failures, "\n".join(failures[:30])
