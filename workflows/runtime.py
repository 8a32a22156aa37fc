"""What the code running inside a step may ask about the run it belongs to.

Record triggers read `current_step()` to give runs they start the right depth, and leave a
notice on the step when the depth limit stops a chain (SPEC section 4).
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
