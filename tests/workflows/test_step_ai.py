"""The AI agent step against a real Chat Completions server on 127.0.0.1 (SPEC sections 4, 6).

`ChatPeer` speaks the protocol the step uses (`POST /v1/chat/completions`) and answers from a
script the test writes, recording every request; no mock of requests or of the step."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.utils import timezone

from workflows.models import Secret, WorkflowRun
from workflows.steps.ai import retry_after_seconds
from workflows.validation import validate

from .helpers import graph, run_workflow, step, steps_of

pytestmark = pytest.mark.django_db

KEY = "sk-test-4f9c1d7e2b"
SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer"}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
}


# --- The peer --------------------------------------------------------------------------------


def completion(content, model="tiny-llm", usage=None):
    """A Chat Completions answer carrying `content` as the assistant's message."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        "usage": usage or {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


class ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(
            {
                "path": self.path,
                "headers": dict(self.headers.items()),
                "json": json.loads(body or b"null"),
                "at": time.monotonic(),
            }
        )
        if self.path != "/v1/chat/completions":
            return self.answer(404, {"error": {"message": "no such route"}})
        status, payload, headers, delay = self.server.script.pop(0)
        time.sleep(delay)
        if callable(payload):
            payload = payload(self.server.requests[-1])
        try:
            self.answer(status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the step gave up (timeout): that is the point of that test

    def answer(self, status, payload, headers=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class ChatPeer:
    """`then(status, payload, headers, delay)` scripts the next answer; `requests` lists what
    arrived (path, headers, parsed JSON body, arrival time)."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
        self.server.daemon_threads = True
        self.server.requests = []
        self.server.script = []
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def requests(self):
        return self.server.requests

    def then(self, status=200, payload=None, headers=None, delay=0.0):
        self.server.script.append((status, payload, headers or {}, delay))
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer():
    server = ChatPeer()
    yield server
    server.stop()


@pytest.fixture
def allow_loopback(settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WORKFLOW_AI_BASE_URL = ""
    settings.WORKFLOW_AI_MODEL = ""
    settings.WORKFLOW_AI_API_KEY = ""


def ai_graph(peer, on_error=None, **settings):
    settings = {"base_url": peer.base_url, "model": "tiny-llm", **settings}
    return graph(step("ask", "ai_agent", settings, on_error=on_error or {}))


def ask(workspace, peer, payload=None, on_error=None, **settings):
    """Runs a one-step workflow with the AI agent step; returns (run, its step run)."""
    run = run_workflow(workspace, ai_graph(peer, on_error, **settings), payload)
    return run, steps_of(run)[("ask", "")]


# --- The request and the answer --------------------------------------------------------------


def test_the_rendered_prompt_system_and_model_arrive_at_the_endpoint(
    allow_loopback, peer, workspace
):
    peer.then(payload=completion("Hello Ada"))
    run, ask_step = ask(
        workspace,
        peer,
        {"name": "Ada", "company": "Acme"},
        prompt="Greet {{trigger.name}} of {{trigger.company}}.",
        system="You write short greetings for {{workspace.name}}.",
        model="tiny-llm",
        temperature=0.2,
        max_tokens=50,
    )
    assert run.status == WorkflowRun.Status.COMPLETED, run.error
    (request,) = peer.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["json"]["model"] == "tiny-llm"
    assert request["json"]["messages"] == [
        {"role": "system", "content": "You write short greetings for Acme."},
        {"role": "user", "content": "Greet Ada of Acme."},
    ]
    assert request["json"]["temperature"] == 0.2 and request["json"]["max_tokens"] == 50
    assert "response_format" not in request["json"]
    assert ask_step.output["text"] == "Hello Ada"
    assert ask_step.output["model"] == "tiny-llm"
    assert ask_step.output["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
    }


def test_the_servers_defaults_give_the_endpoint_model_and_key(
    allow_loopback, settings, peer, workspace
):
    settings.WORKFLOW_AI_BASE_URL = peer.base_url
    settings.WORKFLOW_AI_MODEL = "default-model"
    settings.WORKFLOW_AI_API_KEY = KEY
    peer.then(payload=completion("ok", model="default-model"))
    raw = graph(step("ask", "ai_agent", {"prompt": "Hi"}))
    assert validate(raw) == []
    run = run_workflow(workspace, raw)
    assert run.status == WorkflowRun.Status.COMPLETED, run.error
    (request,) = peer.requests
    assert request["json"]["model"] == "default-model"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"


def test_a_later_step_reads_the_answer_text(allow_loopback, peer, workspace):
    peer.then(payload=completion("Call them on Monday"))
    raw = graph(
        step("ask", "ai_agent", {"base_url": peer.base_url, "model": "m", "prompt": "Plan"}, ["note"]),
        step("note", "create_record", {"object": "note", "values": {"title": "{{steps.ask.text}}"}}),
    )  # fmt: skip
    run = run_workflow(workspace, raw)
    assert steps_of(run)[("note", "")].output["record"]["title"] == "Call them on Monday"


# --- Structured output -----------------------------------------------------------------------


def test_with_a_schema_json_is_asked_for_parsed_and_validated(allow_loopback, peer, workspace):
    peer.then(payload=completion('{"score": 87, "reason": "big company"}'))
    run, ask_step = ask(workspace, peer, prompt="Score this lead", response_schema=SCHEMA)
    assert run.status == WorkflowRun.Status.COMPLETED, run.error
    assert ask_step.output["json"] == {"score": 87, "reason": "big company"}
    sent = peer.requests[0]["json"]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA},
    }
    system = sent["messages"][0]
    instruction, schema_text = system["content"].split("\n", 1)
    assert system["role"] == "system" and instruction.startswith("Answer with one JSON value")
    assert json.loads(schema_text) == SCHEMA


def test_a_fenced_json_answer_from_a_server_ignoring_response_format_is_parsed(
    allow_loopback, peer, workspace
):
    peer.then(payload=completion('Here it is:\n```json\n{"score": 3, "reason": "tiny"}\n```'))
    run, ask_step = ask(workspace, peer, prompt="Score", response_schema=SCHEMA)
    assert run.status == WorkflowRun.Status.COMPLETED, run.error
    assert ask_step.output["json"] == {"score": 3, "reason": "tiny"}


def test_an_answer_that_does_not_match_the_schema_fails_with_the_validation_message(
    allow_loopback, peer, workspace
):
    peer.then(payload=completion('{"score": "high", "reason": "big"}'))
    run, ask_step = ask(workspace, peer, prompt="Score", response_schema=SCHEMA)
    assert run.status == WorkflowRun.Status.FAILED
    assert ask_step.status == "failed"
    assert ask_step.error == (
        "The AI answer does not match response_schema at $.score: 'high' is not of type 'integer'"
    )


def test_an_answer_missing_a_required_property_names_it(allow_loopback, peer, workspace):
    peer.then(payload=completion('{"score": 5}'))
    run, ask_step = ask(workspace, peer, prompt="Score", response_schema=SCHEMA)
    assert run.status == WorkflowRun.Status.FAILED
    assert "'reason' is a required property" in ask_step.error


def test_an_answer_that_is_not_json_fails_the_step(allow_loopback, peer, workspace):
    peer.then(payload=completion("I think it is a good lead."))
    run, ask_step = ask(workspace, peer, prompt="Score", response_schema=SCHEMA)
    assert run.status == WorkflowRun.Status.FAILED
    assert ask_step.error.startswith("The AI answer is not JSON, as response_schema asks")


# --- Retries, timeout, refusal ---------------------------------------------------------------


def test_a_429_then_success_retries_after_the_servers_retry_after(allow_loopback, peer, workspace):
    peer.then(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"})
    peer.then(payload=completion("done"))
    run, ask_step = ask(workspace, peer, prompt="Hi", on_error={"retry": 2, "backoff_s": 0})
    assert run.status == WorkflowRun.Status.COMPLETED, run.error
    assert ask_step.attempts == 2 and ask_step.output["text"] == "done"
    first, second = peer.requests
    assert second["at"] - first["at"] >= 1.0


def test_a_long_retry_after_parks_the_run_until_then(allow_loopback, peer, workspace):
    peer.then(429, {"error": {"message": "quota"}}, {"Retry-After": "120"})
    before = timezone.now()
    run, ask_step = ask(workspace, peer, prompt="Hi", on_error={"retry": 1, "backoff_s": 0})
    assert run.status == WorkflowRun.Status.WAITING
    retry_at = ask_step.output["retry_at"]
    assert retry_at >= (before + timedelta(seconds=119)).isoformat()
    assert "HTTP 429" in ask_step.error


def test_a_server_error_then_success_is_retried(allow_loopback, peer, workspace):
    peer.then(503, {"error": {"message": "loading model"}})
    peer.then(payload=completion("ready"))
    run, ask_step = ask(workspace, peer, prompt="Hi", on_error={"retry": 1})
    assert run.status == WorkflowRun.Status.COMPLETED, run.error
    assert ask_step.attempts == 2


def test_a_refused_key_is_not_retried(allow_loopback, peer, workspace):
    peer.then(401, {"error": {"message": "invalid api key"}})
    run, ask_step = ask(workspace, peer, prompt="Hi", on_error={"retry": 3})
    assert run.status == WorkflowRun.Status.FAILED
    assert len(peer.requests) == 1 and ask_step.attempts == 1
    assert "HTTP 401" in ask_step.error and "invalid api key" in ask_step.error


def test_a_server_slower_than_timeout_s_fails_the_step(allow_loopback, peer, workspace):
    peer.then(payload=completion("late"), delay=3)
    started = time.monotonic()
    run, ask_step = ask(workspace, peer, prompt="Hi", timeout_s=0.5)
    assert time.monotonic() - started < 2.5
    assert run.status == WorkflowRun.Status.FAILED
    assert ask_step.error.startswith("Timed out: POST ")
    assert "did not finish within 0.5 s" in ask_step.error


def test_an_internal_address_is_refused_without_a_request(settings, peer, workspace):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    peer.then(payload=completion("should not be asked"))
    run, ask_step = ask(workspace, peer, prompt="Hi")
    assert run.status == WorkflowRun.Status.FAILED
    assert peer.requests == []
    assert "Refused" in ask_step.error and "127.0.0.1" in ask_step.error


# --- The key ---------------------------------------------------------------------------------


def echo_key(request):
    """An answer that repeats the Authorization header back, as a careless proxy might."""
    return completion(f"your header was {request['headers'].get('Authorization')}")


def stored_text(run: WorkflowRun) -> str:
    run.refresh_from_db()
    parts = [run.error, json.dumps(run.trigger_payload)]
    for step_run in run.steps.all():
        parts += [json.dumps(step_run.input), json.dumps(step_run.output), step_run.error]
    return " ".join(str(part) for part in parts)


def test_a_secret_key_is_sent_but_never_stored_in_the_run(allow_loopback, peer, workspace):
    Secret.objects.create(workspace=workspace, name="OPENAI_KEY", value=KEY)
    peer.then(500, lambda request: {"error": request["headers"].get("Authorization")})
    peer.then(payload=echo_key)
    run, ask_step = ask(
        workspace, peer, prompt="Hi", api_key="{{secrets.OPENAI_KEY}}", on_error={"retry": 1}
    )
    assert run.status == WorkflowRun.Status.COMPLETED, run.error
    assert [r["headers"]["Authorization"] for r in peer.requests] == [f"Bearer {KEY}"] * 2
    assert ask_step.output["text"] == "your header was Bearer ***"
    assert KEY not in stored_text(run)


def test_the_servers_default_key_is_never_stored_either(allow_loopback, settings, peer, workspace):
    settings.WORKFLOW_AI_API_KEY = KEY
    peer.then(400, lambda request: {"error": request["headers"].get("Authorization")})
    run, ask_step = ask(workspace, peer, prompt="Hi")
    assert run.status == WorkflowRun.Status.FAILED
    assert peer.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    assert "Bearer ***" in ask_step.error
    assert KEY not in stored_text(run)


# --- Validation at publish -------------------------------------------------------------------


def problems(settings_):
    return [
        p.message for p in validate(graph(step("ask", "ai_agent", settings_))) if p.step == "ask"
    ]


def test_a_missing_endpoint_or_model_is_a_problem_on_the_step(allow_loopback):
    assert problems({"prompt": "Hi"}) == [
        "base_url is required: set it on the step, or WORKFLOW_AI_BASE_URL on the server.",
        "model is required: set it on the step, or WORKFLOW_AI_MODEL on the server.",
    ]


def test_complete_settings_have_no_problems(allow_loopback):
    assert problems({"prompt": "Hi", "base_url": "http://ai.example.com/v1", "model": "m"}) == []


@pytest.mark.parametrize(
    "extra, problem",
    [
        ({"prompt": ""}, "prompt is required."),
        (
            {"api_key": "sk-live-typed-in"},
            "api_key must be a secret such as {{secrets.OPENAI_KEY}}",
        ),
        ({"base_url": "ftp://ai.example.com"}, "base_url must start with http:// or https://."),
        ({"response_schema": {"type": "integr"}}, "response_schema is not a valid JSON Schema"),
        ({"response_schema": "yes"}, "response_schema must be a JSON Schema object."),
        ({"timeout_s": 900}, "timeout_s must be a number of seconds above 0 and at most 300."),
        ({"temperature": 5}, "temperature must be at most 2."),
    ],
)
def test_bad_settings_are_reported(allow_loopback, extra, problem):
    found = problems(
        {"prompt": "Hi", "base_url": "http://ai.example.com/v1", "model": "m", **extra}
    )
    assert any(message.startswith(problem) for message in found), found


def test_retry_after_reads_seconds_and_http_dates():
    now = timezone.now()
    assert retry_after_seconds({"Retry-After": "7"}) == 7
    date = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 28 <= retry_after_seconds({"retry-after": date}, now=now) <= 31
    assert retry_after_seconds({"Retry-After": "99999"}) == 3600
    assert retry_after_seconds({}) is None and retry_after_seconds({"Retry-After": "soon"}) is None


# --- The run view ----------------------------------------------------------------------------


def test_the_run_view_shows_the_tokens_used(allow_loopback, peer, workspace, owner):
    usage = {"prompt_tokens": 1200, "completion_tokens": 34, "total_tokens": 1234}
    peer.then(payload=completion("hi", usage=usage))
    run, _ = ask(workspace, peer, prompt="Hi")
    browser = Client()
    browser.force_login(owner)
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    assert "1,234 tokens (1,200 prompt, 34 answer)" in page
    assert "<dt>AI tokens</dt><dd data-run-tokens>1,234</dd>" in page
