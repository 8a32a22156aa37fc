"""The registry of step handlers: one line per step type."""

from .base import StepHandler

REGISTRY: dict[str, StepHandler] = {}


def register(handler_class: type[StepHandler]) -> type[StepHandler]:
    REGISTRY[handler_class.type] = handler_class()
    return handler_class


def get_handler(step_type: str) -> StepHandler | None:
    return REGISTRY.get(step_type)


from . import flow, form, notify, records, tags  # noqa: E402, F401  (registration side effects)

try:  # steps that reach outside (HTTP, email, code) and forms register themselves when present
    from . import code, email, http  # noqa: E402, F401
except ImportError:  # pragma: no cover - while those modules are being written
    pass
else:
    from . import ai  # noqa: E402, F401  (through the HTTP step's guarded client)
