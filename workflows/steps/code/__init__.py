"""The `code` step (SPEC sections 4 and 6): JavaScript that defines `function main(input)`.

`input` is the step's `settings.input` with its templates resolved; the output is what `main`
returns, as JSON. The source itself is never templated: values substituted into code would be
evaluated, which SPEC section 4 forbids. Where and how the code runs is the sandbox's (sandbox.py)
business: a fresh V8 isolate (mini-racer, chosen over QuickJS for the full language, a JIT and
maintained wheels) in a helper process, because some JavaScript crashes V8 fatally and a
worker must survive it. A bare isolate has no file system, network or process objects.
"""

import re

from .. import register
from ..base import GraphInfo, LimitExceeded, StepContext, StepError, StepHandler
from .sandbox import JavaScriptError, JavaScriptLimitExceeded, run_javascript

DEFAULT_TIMEOUT_MS = 5_000
MAX_TIMEOUT_MS = 60_000
DEFAULT_MEMORY_MB = 128
MAX_MEMORY_MB = 512
DEFINES_MAIN = re.compile(
    r"\bfunction\s+main\s*\(|\b(?:const|let|var)\s+main\s*=|^\s*main\s*=", re.MULTILINE
)


@register
class RunCode(StepHandler):
    type = "code"
    slow = True
    outputs = ()  # whatever main returns

    def validate_settings(self, settings: dict, graph: GraphInfo) -> list[str]:
        problems = []
        source = settings.get("source")
        if not isinstance(source, str) or not DEFINES_MAIN.search(source):
            problems.append("source must define function main(input).")
        if not isinstance(settings.get("input", {}), dict):
            problems.append("input must be an object of names and values.")
        timeout = settings.get("timeout_ms", DEFAULT_TIMEOUT_MS)
        if not _whole_number_between(timeout, 1, MAX_TIMEOUT_MS):
            problems.append(
                f"timeout_ms must be a whole number of milliseconds from 1 to {MAX_TIMEOUT_MS}."
            )
        memory = settings.get("memory_mb", DEFAULT_MEMORY_MB)
        if not _whole_number_between(memory, 16, MAX_MEMORY_MB):
            problems.append(f"memory_mb must be a whole number from 16 to {MAX_MEMORY_MB}.")
        return problems

    def execute(self, ctx: StepContext):
        settings = ctx.settings
        problems = self.validate_settings(settings, GraphInfo(set(), {}))
        if problems:
            raise StepError(" ".join(problems))
        timeout_ms = int(settings.get("timeout_ms", DEFAULT_TIMEOUT_MS))
        memory_mb = int(settings.get("memory_mb", DEFAULT_MEMORY_MB))
        try:
            return run_javascript(
                settings["source"], ctx.resolve(settings.get("input") or {}), timeout_ms,
                memory_mb * 1024 * 1024,
            )  # fmt: skip
        except JavaScriptLimitExceeded as error:
            raise LimitExceeded(str(error)) from None
        except JavaScriptError as error:
            raise StepError(str(error)) from None


def _whole_number_between(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
