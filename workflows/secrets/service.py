"""Writes to workspace secrets, shared by the API, the settings page and the admin. Values
are write-only: nothing here returns one."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ..models import Secret
from .masking import normalise_name

NAME_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
NAME_MAX_CHARS = 100  # Secret.name
VALUE_MAX_CHARS = 65_536


def create_secret(workspace, name: str, value: str) -> Secret:
    name = normalise_name(name or "")
    errors = name_errors(name) | _value_errors(value)
    if (
        not errors.get("name")
        and Secret.objects.filter(workspace=workspace, name__iexact=name).exists()
    ):
        errors["name"] = [f"A secret named {name} already exists."]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return Secret.objects.create(workspace=workspace, name=name, value=value)
    except IntegrityError:  # created by someone else meanwhile
        raise ValidationError({"name": [f"A secret named {name} already exists."]}) from None


def replace_secret_value(secret: Secret, value: str) -> Secret:
    errors = _value_errors(value)
    if errors:
        raise ValidationError(errors)
    secret.value = value
    secret.save(update_fields=["value", "updated_at"])
    return secret


def delete_secret(secret: Secret) -> None:
    secret.delete()


def find_secret(workspace, key: str) -> Secret | None:
    """By id or by name (names never start with a digit, so the two cannot collide)."""
    secrets = Secret.objects.filter(workspace=workspace)
    # ASCII digits only: "²".isdigit() is true and int("²") fails (a 500, not a 404).
    if key.isascii() and key.isdigit():
        return secrets.filter(pk=int(key)).first()
    return secrets.filter(name=normalise_name(key)).first()


def name_errors(name: str) -> dict[str, list[str]]:
    if not name:
        return {"name": ["Give the secret a name."]}
    if len(name) > NAME_MAX_CHARS or not NAME_PATTERN.match(name):
        return {"name": [
            f"Use letters, digits and underscores, not starting with a digit, at most "
            f"{NAME_MAX_CHARS} characters (like API_KEY)."
        ]}  # fmt: skip
    return {}


def _value_errors(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, str) or value == "":
        return {"value": ["Give the secret a value."]}
    if len(value) > VALUE_MAX_CHARS:
        return {"value": [f"A secret value is at most {VALUE_MAX_CHARS:,} characters."]}
    return {}
