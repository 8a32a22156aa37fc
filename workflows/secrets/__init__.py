"""Workspace secrets (SPEC section 4): how templates read them, how stored run data hides
them, and the writes the API, the settings page and the admin share.

The engine's side, in full::

    used = set()                                          # = StepContext.secret_values
    data["secrets"] = SecretsView(run.workspace, used=used)
    ...
    step_run.input = mask(step_input, used)               # and output, error, run.error

Values are write-only: nothing here returns a value except SecretsView, to templates.
"""

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ..models import Secret

MASK = "***"
NAME_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
NAME_MAX_CHARS = 100  # Secret.name
VALUE_MAX_CHARS = 65_536


class SecretsView(Mapping):
    """`data["secrets"]` in a step's template context: `{{secrets.NAME}}`.

    Built once per run as `SecretsView(run.workspace, used=ctx.secret_values)`. It reads the
    workspace's secrets on the first lookup only, so a run that names no secret costs no
    query, and adds every value it hands out to `used` (the caller's set, shared with the
    StepContext) so the engine can pass that set to `mask` before storing anything. Names are
    case-insensitive: `{{secrets.api_key}}` reads API_KEY.
    """

    def __init__(self, workspace, used: set[str] | None = None):
        self.workspace = workspace
        self.used = used if used is not None else set()
        self._values: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._values is None:
            rows = Secret.objects.filter(workspace=self.workspace).values_list("name", "value")
            self._values = {normalise_name(name): value for name, value in rows}
        return self._values

    def __getitem__(self, name: str) -> str:
        value = self._load()[normalise_name(str(name))]
        if value:
            self.used.add(value)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return "<SecretsView: values hidden>"


def mask(value: Any, secret_values: Iterable[str]) -> Any:
    """A copy of a JSON value (dicts, lists, strings, numbers) with every secret value
    replaced by `***`, inside longer text too, and in its JSON-escaped and URL-encoded forms
    (a secret put in a JSON body or a query string comes back that way in errors). A number
    whose digits are a secret is replaced whole. Returns `value` itself when there is nothing
    to mask.
    """
    needles = frozenset(value for value in secret_values if isinstance(value, str) and value)
    if not needles:
        return value
    return _mask(value, _pattern_for(needles), _forms_of(needles))


def _mask(value: Any, pattern: re.Pattern, forms: frozenset[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(MASK, value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return MASK if str(value) in forms else value
    if isinstance(value, SecretsView):  # "{{secrets}}" as a whole: names only
        return {name: MASK for name in value}
    if isinstance(value, Mapping):
        return {
            (pattern.sub(MASK, key) if isinstance(key, str) else key): _mask(item, pattern, forms)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask(item, pattern, forms) for item in value]
    return value


@lru_cache(maxsize=64)
def _forms_of(needles: frozenset[str]) -> frozenset[str]:
    forms = set()
    for secret in needles:
        forms |= {
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            quote(secret, safe=""),
            quote_plus(secret),
        }
    return frozenset(form for form in forms if form)


@lru_cache(maxsize=64)
def _pattern_for(needles: frozenset[str]) -> re.Pattern:
    # Longest first, so a secret that contains another is masked whole.
    forms = sorted(_forms_of(needles), key=len, reverse=True)
    return re.compile("|".join(re.escape(form) for form in forms))


# --- Writes: shared by the API, the settings page and the admin --------------------------------


def normalise_name(name: str) -> str:
    """Secret names are stored upper-case, which makes them unique case-insensitively."""
    return name.strip().upper()


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
    if key.isdigit():
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
