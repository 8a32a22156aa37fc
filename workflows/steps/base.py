"""The interface every step handler implements, and the values it passes around."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ..settings_schema import Setting, schema_problems
from ..templating import render


class StepError(Exception):
    """A step failed; the message is shown to the user on the step run."""


class LimitExceeded(StepError):
    """A step hit a limit of SPEC section 5 (time, memory, size, count)."""


class NotRetryable(StepError):
    """A failure that asking again cannot mend (a refused key, a bad request): `on_error`
    retries are skipped."""


class RetryLater(StepError):
    """A failure the other side says is passing (HTTP 429, 5xx): an `on_error` retry waits at
    least `retry_after` seconds (its `Retry-After`) when it gives one."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Park(Exception):
    """Raised by a handler to pause the run: `waiting` until `resume_at`, or until resumed
    by someone (a form submission) when `resume_at` is None.

    `waiting_for` is the run's text while it waits; `ready`, when given, is asked inside the
    parking transaction whether the awaited thing already happened (a form submitted while
    the step was still running): then the run is queued again instead of waiting forever.
    """

    resume_at: datetime | None = None
    output: dict | None = None
    waiting_for: str = ""
    ready: Callable[[], bool] | None = None


@dataclass
class StepResult:
    """What a flow step returns when it decides where the run goes next.

    `next` None means the step's own `next`; `skipped` marks a filter that stopped its branch.
    """

    output: Any
    next: list[str] | None = None
    skipped: bool = False


@dataclass
class GraphInfo:
    """What settings validation may know about the rest of the graph."""

    step_ids: set[str]
    objects: Mapping[str, Any]  # crm.objects.OBJECTS


@dataclass
class StepContext:
    """What a handler sees when it executes.

    `data` is the template context (trigger, steps, run, workspace, now, secrets); secrets are
    resolved lazily, and every secret value read is remembered in `secret_values` so the engine
    can mask it in whatever it stores.
    """

    run: Any  # WorkflowRun
    workspace: Any
    step: dict
    data: Mapping
    scope: str = ""
    attempt: int = 1
    started_at: datetime | None = None
    secret_values: set[str] = field(default_factory=set)

    @property
    def settings(self) -> dict:
        return self.step.get("settings") or {}

    @property
    def dry_run(self) -> bool:
        """A dry run (workflows/dry_run.py): no delay is waited, no form is created, no email
        is sent; record writes are made and rolled back at the end of the run."""
        return bool(getattr(self.run, "dry_run", False))

    def resolve(self, value: Any) -> Any:
        """Renders templates in a setting value against the run's data."""
        return render(value, self.data)


class StepHandler:
    """One step type. Subclasses set `type` and implement `execute`.

    A new step type is one class in a module of this package, registered with `@register`
    (and the module imported in `steps/__init__.py`). It declares, once:

        @register
        class ArchiveRecord(StepHandler):
            type = "archive_record"
            label = "Archive record"          # its button in the builder's picker (SPEC 8.1)
            group = "Records"                 # Records, Flow, Outside or People
            outputs = ("record",)             # what {{steps.ID.…}} offers later steps
            settings_schema = (
                Setting("object", "object", required=True),
                Setting("id", "text", label="Record id", required=True, templates=True),
            )

            def validate_settings(self, settings, graph):
                return []                     # only what the declaration cannot say

    Validation (`settings_problems`), the builder's settings panel and its variable picker all
    read these declarations, so the type is validated and editable with no page code.

    - `writes_records`: the handler's writes commit in the same transaction as its
      `succeeded` step run (exactly-once, SPEC section 5).
    - `slow`: the engine records a `running` step run before calling it, so the run view
      shows it while it works (HTTP, email, code, form).
    - `outputs`: the keys of its output, offered by the builder's variable picker.
    - `label` and `group` (Records, Flow, Outside, People): how the builder's picker lists it.
    - `settings_schema`: its settings, declared once (workflows.settings_schema); validation
      and the builder's settings panel both read it.
    """

    type: ClassVar[str] = ""
    label: ClassVar[str] = ""
    group: ClassVar[str] = ""
    settings_schema: ClassVar[tuple[Setting, ...]] = ()
    writes_records: ClassVar[bool] = False
    slow: ClassVar[bool] = False
    outputs: ClassVar[tuple[str, ...]] = ()

    def settings_problems(self, settings: dict, graph: GraphInfo) -> list[str]:
        """Every problem of the settings: the declaration's (presence, types, choices, known
        objects and fields, condition shapes), then the handler's own checks."""
        problems = schema_problems(self.settings_schema, settings)
        problems += self.validate_settings(settings, graph)
        return list(dict.fromkeys(problems))

    def validate_settings(self, settings: dict, graph: GraphInfo) -> list[str]:
        """Extra problems the declaration cannot say (cross-field rules), as messages (no
        step id; the caller adds it). Values the declaration already refused are skipped."""
        return []

    def next_steps(self, step: dict, output: Any) -> list[str]:
        """Where the run goes after this step, given its output (also used on replay)."""
        return list(step.get("next") or [])

    def execute(self, ctx: StepContext) -> Any:
        """Does the work and returns the step's output (JSON-safe).

        Raise StepError for a failure the user should read, Park to wait.
        """
        raise NotImplementedError
