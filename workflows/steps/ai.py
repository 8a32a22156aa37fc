"""The `ai_agent` step (SPEC section 4): one call to an OpenAI-compatible Chat Completions API.

`POST <base_url>/chat/completions` goes through the HTTP step's guarded client (`http.send`):
the same SSRF guard, whole-exchange timeout and 10 MB cap. The endpoint, model and key
default to `WORKFLOW_AI_BASE_URL`, `WORKFLOW_AI_MODEL` and `WORKFLOW_AI_API_KEY`; a step
overrides them, its key only through a template such as `{{secrets.OPENAI_KEY}}`, so no key
is ever stored in a graph or in clear in a run (inputs and outputs are masked with every
secret of the workspace; the environment's key is masked here).

With `response_schema` the request asks for JSON twice: `response_format` json_schema for
servers that honour it, and an instruction in the system message for those that ignore it.
The answer is parsed (a fenced ```json block is accepted) and validated with `jsonschema`;
an answer that does not match fails the step with the validator's message.

A 429 or 5xx answer raises `RetryLater` carrying the server's `Retry-After`, which the
engine's `on_error` retry waits at least; other 4xx answers (a bad key, an unknown model, a
prompt too long) raise `NotRetryable`, since asking again cannot help.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import jsonschema
from django.conf import settings as django_settings

from ..secrets import mask
from ..settings_schema import Setting, schema_problems
from ..templating import to_text
from . import register
from .base import GraphInfo, NotRetryable, RetryLater, StepContext, StepError, StepHandler
from .http import HttpCall, send, status_error

DEFAULT_TIMEOUT_S = 60
MAX_TIMEOUT_S = 300
MAX_RETRY_AFTER_S = 3600
FENCED_JSON = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
JSON_INSTRUCTION = (
    "Answer with one JSON value only, no prose and no code fence, matching this JSON Schema:\n"
)


@register
class AiAgent(StepHandler):
    type = "ai_agent"
    label = "AI agent"
    group = "Outside"
    slow = True
    outputs = ("text", "json", "model", "usage")
    settings_schema = (
        Setting("prompt", "textarea", label="Prompt", required=True, templates=True),
        Setting(
            "system",
            "textarea",
            label="System message",
            templates=True,
            help="Instructions the model follows for every prompt (optional).",
        ),
        Setting(
            "model",
            "text",
            label="Model",
            templates=True,
            placeholder="llama3.1, gpt-4o-mini…",
            help="Empty: WORKFLOW_AI_MODEL of the server.",
        ),
        Setting(
            "base_url",
            "text",
            label="Endpoint",
            templates=True,
            placeholder="http://localhost:11434/v1",
            help="An OpenAI-compatible API; empty: WORKFLOW_AI_BASE_URL of the server.",
        ),
        Setting(
            "api_key",
            "text",
            label="API key",
            templates=True,
            placeholder="{{secrets.OPENAI_KEY}}",
            help="A secret; empty: WORKFLOW_AI_API_KEY of the server.",
        ),
        Setting(
            "response_schema",
            "json",
            label="Answer's JSON Schema",
            help="When set, the answer must be JSON matching it (output `json`).",
        ),
        Setting("temperature", "number", label="Temperature", minimum=0, maximum=2),
        Setting("max_tokens", "integer", label="Most tokens in the answer", minimum=1),
        Setting(
            "timeout_s",
            "number",
            label="Time limit (s)",
            templates=True,
            default=DEFAULT_TIMEOUT_S,
            help=f"Above 0, at most {MAX_TIMEOUT_S} seconds.",
        ),
    )

    def validate_settings(self, settings: dict, graph: GraphInfo | None) -> list[str]:
        return settings_problems(settings)

    def execute(self, ctx: StepContext) -> dict:
        chat = ChatCall.from_settings(ctx.resolve(ctx.settings))
        hidden = [chat.api_key]  # the environment's key; the engine masks workspace secrets
        try:
            answer = chat.send()
        except StepError as error:
            error.args = (mask(str(error), hidden),)
            raise
        return mask(answer, hidden)


@dataclass
class ChatCall:
    """The step's settings resolved, with the server's defaults filled in."""

    base_url: str
    model: str
    api_key: str
    prompt: str
    system: str
    response_schema: dict | None
    temperature: float | None
    max_tokens: int | None
    timeout_s: float

    @classmethod
    def from_settings(cls, settings: dict) -> "ChatCall":
        problems = schema_problems(AiAgent.settings_schema, settings)
        problems += settings_problems(settings, resolved=True)
        if problems:
            raise NotRetryable(" ".join(problems))
        return cls(
            base_url=_setting_or_default(settings, "base_url", "WORKFLOW_AI_BASE_URL"),
            model=_setting_or_default(settings, "model", "WORKFLOW_AI_MODEL"),
            api_key=_setting_or_default(settings, "api_key", "WORKFLOW_AI_API_KEY"),
            prompt=to_text(settings.get("prompt")),
            system=to_text(settings.get("system")),
            response_schema=settings.get("response_schema") or None,
            temperature=settings.get("temperature"),
            max_tokens=settings.get("max_tokens"),
            timeout_s=float(settings.get("timeout_s") or DEFAULT_TIMEOUT_S),
        )

    def request_body(self) -> dict:
        system = self.system
        if self.response_schema is not None:  # for servers that ignore response_format
            instruction = JSON_INSTRUCTION + json.dumps(self.response_schema)
            system = f"{system}\n\n{instruction}" if system else instruction
        messages = [{"role": "system", "content": system}] if system else []
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [*messages, {"role": "user", "content": self.prompt}],
        }
        if self.response_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": self.response_schema},
            }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        return body

    def send(self) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        call = HttpCall(
            method="POST",
            url=self.base_url.rstrip("/") + "/chat/completions",
            headers=headers,
            query={},
            body=self.request_body(),
            timeout_s=self.timeout_s,
            fail_on_status=True,
            secret_headers=frozenset({"authorization"}),
        )
        result = send(call)
        if result["status"] >= 400:
            raise _status_failure(call, result)
        return self.read_answer(result["body"])

    def read_answer(self, body: Any) -> dict:
        text = _answer_text(body)
        output = {"text": text, "model": body.get("model") or self.model}
        output["usage"] = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        if self.response_schema is not None:
            output["json"] = _parse_and_validate(text, self.response_schema)
        return output


def _setting_or_default(settings: dict, name: str, default_name: str) -> str:
    value = to_text(settings.get(name)).strip()
    return value or str(getattr(django_settings, default_name, "") or "").strip()


def _answer_text(body: Any) -> str:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        shown = body if isinstance(body, str) else json.dumps(body)
        raise StepError(
            f"The AI endpoint's answer is not a Chat Completions response: {shown[:500]}"
        ) from None
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return to_text(content)


def _parse_and_validate(text: str, schema: dict) -> Any:
    value = _parse_json(text)
    error = jsonschema.exceptions.best_match(_validator_class(schema)(schema).iter_errors(value))
    if error is not None:
        where = error.json_path if error.absolute_path else "the answer"
        raise StepError(f"The AI answer does not match response_schema at {where}: {error.message}")
    return value


def _parse_json(text: str) -> Any:
    candidates = [text.strip()]
    fenced = FENCED_JSON.search(text)
    if fenced:
        candidates.append(fenced.group(1).strip())
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise StepError(f"The AI answer is not JSON, as response_schema asks: {text[:500]!r}")


def _validator_class(schema: dict) -> type[jsonschema.protocols.Validator]:
    """The draft the schema's `$schema` names, else 2020-12."""
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)


def _status_failure(call: HttpCall, result: dict) -> StepError:
    message = status_error(call, result)
    status = result["status"]
    if status == 429 or status >= 500:
        return RetryLater(message, retry_after=retry_after_seconds(result["headers"]))
    return NotRetryable(message)


def retry_after_seconds(headers: dict, now: datetime | None = None) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds (delta or HTTP date), capped at an
    hour; None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


# --- Settings validation ---------------------------------------------------------------------


def settings_problems(settings: dict, resolved: bool = False) -> list[str]:
    """What the declaration cannot say: an endpoint and a model must come from the step or
    the server's defaults, the key only from a template (never typed into the graph), and
    the schema must be a valid JSON Schema. `resolved`: templates are already rendered (the
    key is then the secret's value)."""
    problems = []
    for name, default_name in (
        ("base_url", "WORKFLOW_AI_BASE_URL"),
        ("model", "WORKFLOW_AI_MODEL"),
    ):
        if not _setting_or_default(settings, name, default_name):
            problems.append(
                f"{name} is required: set it on the step, or {default_name} on the server."
            )
    base_url = settings.get("base_url")
    if isinstance(base_url, str) and base_url.strip() and "{{" not in base_url:
        if not re.match(r"https?://", base_url.strip(), re.IGNORECASE):
            problems.append("base_url must start with http:// or https://.")
    api_key = settings.get("api_key")
    if not resolved and isinstance(api_key, str) and api_key.strip() and "{{" not in api_key:
        problems.append(
            "api_key must be a secret such as {{secrets.OPENAI_KEY}}, never the key itself."
        )
    schema = settings.get("response_schema")
    if schema not in (None, "", {}):
        if not isinstance(schema, dict):
            problems.append("response_schema must be a JSON Schema object.")
        else:
            try:
                _validator_class(schema).check_schema(schema)
            except jsonschema.exceptions.SchemaError as error:
                problems.append(f"response_schema is not a valid JSON Schema: {error.message}")
    timeout = settings.get("timeout_s")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        if not 0 < timeout <= MAX_TIMEOUT_S:
            problems.append(
                f"timeout_s must be a number of seconds above 0 and at most {MAX_TIMEOUT_S}."
            )
    return problems
