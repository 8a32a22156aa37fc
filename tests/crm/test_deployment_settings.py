"""Deployment settings (SPEC section 1): with DEBUG off the app refuses to start without a
SECRET_KEY of its own, and `check --deploy` is clean for an HTTPS deployment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "HTTPS"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "crm.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_fails_with_debug_off_and_no_secret_key():
    result = manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "crm.E001" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_the_asgi_application_refuses_to_load_with_debug_off_and_no_secret_key():
    result = subprocess.run(
        [sys.executable, "-c", "import crm.asgi"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}},
            "DEBUG": "0",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_check_passes_with_debug_on_and_no_secret_key():
    result = manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_debug_off_and_a_real_key():
    result = manage("check", "--deploy", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stderr
