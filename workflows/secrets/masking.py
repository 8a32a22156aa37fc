"""How templates read secrets and how everything a run stores hides them (SPEC section 4).

The engine's side, in full::

    values = WorkspaceSecretValues(run.workspace)         # = StepContext.secret_values
    data["secrets"] = SecretsView(run.workspace, used=values)
    ...
    step_run.input = mask(step_input, values)             # and output, error, run.error,
                                                          # the outbox, form requests
    with masking_logs(values): ...                        # and every log line meanwhile

`mask` is the one function that hides secrets; whatever else stores run data (resume state,
notifications) calls it with the run's `WorkspaceSecretValues`. Every secret of the
workspace is masked, not only those a template named: a later step may echo a value that
only an earlier one (before a resume, say) read. Values are write-only: nothing here returns
one except SecretsView, to templates.
"""

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from ..models import Secret

MASK = "***"


class SecretsView(Mapping):
    """`data["secrets"]` in a step's template context: `{{secrets.NAME}}`.

    Built once per run as `SecretsView(run.workspace, used=ctx.secret_values)`. It reads the
    workspace's secrets on the first lookup only and adds every value to `used` (the
    caller's collection, shared with the StepContext), so `mask` hides them all, even a
    secret saved while the run was going. Names are case-insensitive: `{{secrets.api_key}}`
    reads API_KEY.
    """

    def __init__(self, workspace, used: set[str] | None = None):
        self.workspace = workspace
        self.used = used if used is not None else set()
        self._values: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._values is None:
            rows = Secret.objects.filter(workspace=self.workspace).values_list("name", "value")
            self._values = {normalise_name(name): value for name, value in rows}
            self.used.update(value for value in self._values.values() if value)
        return self._values

    def __getitem__(self, name: str) -> str:
        return self._load()[normalise_name(str(name))]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return "<SecretsView: values hidden>"


class WorkspaceSecretValues:
    """Every secret value of a workspace, read on first use (one query per run), plus any
    value added later. What the engine hands to `mask` as `secret_values`."""

    def __init__(self, workspace):
        self.workspace = workspace
        self._values: set[str] | None = None

    def _load(self) -> set[str]:
        if self._values is None:
            rows = Secret.objects.filter(workspace=self.workspace).values_list("value", flat=True)
            self._values = {value for value in rows if value}
        return self._values

    def add(self, value: str) -> None:
        self._load().add(value)

    def update(self, values: Iterable[str]) -> None:
        self._load().update(values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return "<WorkspaceSecretValues: values hidden>"


def mask_for_workspace(value: Any, workspace) -> Any:
    """`mask` with every secret of `workspace`, for code outside a run (one query)."""
    return mask(value, WorkspaceSecretValues(workspace))


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


# --- Log lines ---------------------------------------------------------------------------------

_masking_values: contextvars.ContextVar[Iterable[str] | None] = contextvars.ContextVar(
    "workflow_secret_values", default=None
)


@contextlib.contextmanager
def masking_logs(secret_values: Iterable[str]):
    """While a run executes, every log record (message, arguments and traceback) has the
    run's secrets masked as it is made, whatever handler later writes it."""
    token = _masking_values.set(secret_values)
    try:
        yield
    finally:
        _masking_values.reset(token)


def install_log_masking() -> None:
    """Wraps the log record factory once per process (WorkflowsConfig.ready); records made
    outside `masking_logs` pass untouched."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_secrets", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        values = _masking_values.get()
        if values is not None and len(values):
            _mask_record(record, values)
        return record

    make_record.masks_secrets = True
    logging.setLogRecordFactory(make_record)


def _mask_record(record: logging.LogRecord, values: Iterable[str]) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the format: keep both as text
        message = f"{record.msg} {record.args}"
    record.msg, record.args = mask(message, values), ()
    if record.exc_info:
        # Formatted now, masked, and the traceback object dropped so no handler formats (or
        # reports the local variables of) the unmasked original.
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info), values)
        record.exc_info = None
    if record.stack_info:
        record.stack_info = mask(record.stack_info, values)


def normalise_name(name: str) -> str:
    """Secret names are stored upper-case, which makes them unique case-insensitively."""
    return name.strip().upper()
