"""The `code` step (SPEC sections 4 and 6): JavaScript that defines `function main(input)`.

`input` is the step's `settings.input` with its templates resolved; the output is what `main`
returns, as JSON. The source itself is never templated: values substituted into code would be
evaluated, which SPEC section 4 forbids. Where and how the code runs is the sandbox's (sandbox.py)
business: a fresh V8 isolate (mini-racer, chosen over QuickJS for the full language, a JIT and
maintained wheels) in a helper process, because some JavaScript crashes V8 fatally and a
worker must survive it. A bare isolate has no file system, network or process objects.
"""

import re

from ...settings_schema import Setting
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
    label = "Code"
    group = "Outside"
    slow = True
    outputs = ()  # whatever main returns
    settings_schema = (
        Setting(
            "source",
            "code",
            label="JavaScript",
            required=True,
            default="function main(input) {\n  return {};\n}\n",
            help="Defines function main(input); what it returns is the step's output.",
        ),
        Setting(
            "input",
            "keyvalue",
            label="Input",
            templates=True,
            help="Names and values passed to main as input; values take templates.",
        ),
        Setting(
            "timeout_ms",
            "integer",
            label="Time limit (ms)",
            default=DEFAULT_TIMEOUT_MS,
            minimum=1,
            maximum=MAX_TIMEOUT_MS,
        ),
        Setting(
            "memory_mb",
            "integer",
            label="Memory limit (MB)",
            default=DEFAULT_MEMORY_MB,
            minimum=16,
            maximum=MAX_MEMORY_MB,
        ),
    )

    def validate_settings(self, settings: dict, graph: GraphInfo) -> list[str]:
        source = settings.get("source")
        if isinstance(source, str) and source and not DEFINES_MAIN.search(source):
            return ["source must define function main(input)."]
        return []

    def execute(self, ctx: StepContext):
        settings = ctx.settings
        problems = self.settings_problems(settings, GraphInfo(set(), {}))
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
