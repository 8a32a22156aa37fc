"""What the code running inside a step may ask about the run it belongs to.

Record triggers read `current_step()` to give runs they start the right depth, and leave a
notice on the step when the depth limit stops a chain (SPEC section 4); `in_dry_run()` tells
them (and nobody else needs it: steps read `ctx.dry_run`) that a dry run's writes start nothing.
"""

import contextvars
from dataclasses import dataclass, field

MAX_DEPTH = 5


@dataclass
class RunningStep:
    run_id: str
    depth: int
    step_id: str
    notices: list[str] = field(default_factory=list)


_current: contextvars.ContextVar[RunningStep | None] = contextvars.ContextVar(
    "workflow_running_step", default=None
)


def current_step() -> RunningStep | None:
    return _current.get()


def enter_step(step: RunningStep):
    return _current.set(step)


def leave_step(token) -> None:
    _current.reset(token)


def add_notice(text: str) -> None:
    """A line the running step's output shows under `notices` (the engine adds them)."""
    step = current_step()
    if step is not None and text not in step.notices:
        step.notices.append(text)


# --- Dry runs (workflows/dry_run.py) -------------------------------------------------------------

# Set while a dry run executes: its record writes roll back, so the runs they would trigger
# must not start (they would roll back too, after a worker may have been kicked for them).
_dry_run: contextvars.ContextVar[bool] = contextvars.ContextVar("workflow_dry_run", default=False)


def in_dry_run() -> bool:
    return _dry_run.get()


def enter_dry_run():
    return _dry_run.set(True)


def leave_dry_run(token) -> None:
    _dry_run.reset(token)


# --- Chains through HTTP (SPEC section 6) ------------------------------------------------------

# Sent on every outgoing request of a run: the depth of that run. A call into this app's API
# or webhooks that carries it starts runs one deeper, so a loop through HTTP stops at depth 5.
DEPTH_HEADER = "X-Workflow-Depth"

_calling_depth: contextvars.ContextVar[int] = contextvars.ContextVar(
    "workflow_calling_depth", default=0
)


class ChainTooDeep(Exception):
    """A run would be started deeper than MAX_DEPTH; the message is for the caller."""


def depth_from_header(value: str | None) -> int:
    """The depth a caller's X-Workflow-Depth names (0 when absent or not a number)."""
    try:
        return min(max(int(str(value or "0").strip()), 0), 1000)
    except ValueError:
        return 0


def calling_depth() -> int:
    """The depth of the run on whose behalf this code runs: the running step's, else the one
    the current request came with, else 0 (a person, a schedule, a sender)."""
    step = current_step()
    return step.depth if step else _calling_depth.get()


def depth_for_new_run(calling: int | None = None) -> int:
    """The depth of a run started now; raises ChainTooDeep past MAX_DEPTH."""
    depth = (calling_depth() if calling is None else calling) + 1
    if depth > MAX_DEPTH:
        raise ChainTooDeep(
            f"Not started: this call comes from a workflow run at depth {depth - 1}, and "
            f"chains of runs stop at depth {MAX_DEPTH} ({DEPTH_HEADER})."
        )
    return depth


class WorkflowDepthMiddleware:
    """Reads X-Workflow-Depth on every request, so runs the request starts (through the API,
    a webhook, or record writes) are one deeper than the run that sent it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(DEPTH_HEADER)
        if given is None:
            return self.get_response(request)
        token = _calling_depth.set(depth_from_header(given))
        try:
            return self.get_response(request)
        finally:
            _calling_depth.reset(token)
