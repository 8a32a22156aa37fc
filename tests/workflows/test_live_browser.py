"""The forms inbox and the run view live in a real browser against a real daphne (SPEC
section 8; issue 13 "must show" 2): a form a worker creates appears without a reload, filling
it in the page makes it disappear, and the open run view shows the run complete."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from crm.models import Role  # noqa: E402
from tests.conftest import make_user, make_workspace  # noqa: E402
from workflows.models import WorkflowRun  # noqa: E402

from .helpers import graph, published, step  # noqa: E402
from .test_live_sockets import ROOT, worker_env  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)
PORT = int(os.environ.get("LIVE_TEST_PORT", "8181"))
PASSWORD = "browser-pw"


def start_daphne(port: int, redis_url: str = "") -> subprocess.Popen:
    env = worker_env()
    env.pop("WORKFLOW_RUN_INLINE", None)
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    env["DEBUG"] = "1"  # static files from the sources, no collectstatic for a test
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"daphne-{port}.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "crm.asgi:application"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.2)
    return server


def stop_daphne(server: subprocess.Popen) -> None:
    os.killpg(server.pid, 15)
    server.wait(timeout=10)


@pytest.fixture
def embedded_layer(settings, monkeypatch):
    """The embedded deployment on whatever database the suite runs: this process writes like
    the embedded daphne it talks to (events through the table, which the daphne's relay
    reads), and the worker processes it starts get no REDIS_URL either, so the PostgreSQL +
    Redis pass runs these tests too. The Redis deployment has its own test below."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def daphne():
    server = start_daphne(PORT)
    yield f"http://127.0.0.1:{PORT}"
    stop_daphne(server)


@pytest.fixture
def browser():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def run_in_worker(workflow_id, *record_id) -> str:
    env = worker_env()
    script = str(ROOT / "tests/workflows/live_worker.py")
    out = subprocess.run(
        [sys.executable, script, "run", str(workflow_id), *map(str, record_id)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.split()[0]


def log_in(browser, base_url):
    page = browser.new_context().new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", "ada@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return page


def test_a_run_on_a_record_and_the_task_it_creates_appear_on_the_open_record_page(
    daphne, browser, embedded_layer
):
    from .helpers import person

    workspace = make_workspace("acme")
    make_user("ada@example.com", workspace, Role.MEMBER, password=PASSWORD)
    grace = person(workspace, first_name="Grace")
    values = {"title": "Call Grace back", "person": "{{trigger.record.id}}"}
    make_task = step("make", "create_record", {"object": "task", "values": values})
    manual = {"type": "manual", "settings": {"object": "person"}}
    workflow = published(workspace, graph(make_task, trigger=manual), name="Follow up")

    page = log_in(browser, daphne)
    page.goto(f"{daphne}/people/{grace.pk}/")
    page.wait_for_selector("body[data-live-ready]")
    run_id = run_in_worker(workflow.pk, grace.pk)
    row = page.locator(f'#record-runs [data-run-id="{run_id}"]')
    row.wait_for(timeout=5000)
    page.locator("#record-runs .badge-run-completed").wait_for(timeout=5000)
    page.locator("#record-tasks", has_text="Call Grace back").wait_for(timeout=5000)


def test_a_form_appears_live_is_filled_in_the_page_and_the_run_view_shows_it_complete(
    daphne, browser, embedded_layer
):
    workspace = make_workspace("acme")
    make_user("ada@example.com", workspace, Role.MEMBER, password=PASSWORD)
    fields = [{"name": "budget", "label": "Budget", "type": "number", "required": True}]
    ask = step("ask", "form", {"title": "Budget for Acme", "fields": fields}, next=["done"])
    done = step("done", "filter", {"when": {"all": []}})
    workflow = published(workspace, graph(ask, done))

    context = browser.new_context()
    inbox = context.new_page()
    inbox.goto(f"{daphne}/accounts/login/")
    inbox.fill("input[name=username]", "ada@example.com")
    inbox.fill("input[name=password]", PASSWORD)
    inbox.click("button[type=submit]")
    inbox.goto(f"{daphne}/forms/")
    inbox.wait_for_selector("body[data-live-ready]")
    assert inbox.locator("form[data-form-id]").count() == 0

    run_id = run_in_worker(workflow.pk)
    card = inbox.locator("form[data-form-id]")
    card.wait_for(timeout=5000)  # no reload: the socket brought it
    assert "Budget for Acme" in card.inner_text()
    assert inbox.locator("[data-bell-count]").inner_text() == "1"

    run_view = context.new_page()
    run_view.goto(f"{daphne}/runs/{run_id}/")
    run_view.wait_for_selector("body[data-live-ready]")
    assert (
        run_view.locator('[data-step-id="ask"][data-status]').first.get_attribute("data-status")
        == "waiting"
    )

    # The edge from the waiting form to "done" is not taken yet; live events highlight it.
    into_done = run_view.locator('[data-canvas-stage] path[data-edge*=\'"to": "done"\']').first
    assert "edge-taken" not in into_done.get_attribute("class")
    # Only the attribute changes: the canvas cards stay the same elements.
    run_view.evaluate(
        "document.querySelectorAll('[data-canvas-stage] [data-step-id]').forEach((el) => { el.kept = true; })"
    )
    card.locator("input[name=budget]").fill("5000")
    card.locator("button[type=submit]").click()
    inbox.locator("form[data-form-id]").wait_for(state="detached", timeout=5000)
    assert inbox.locator("[data-bell-count]").is_hidden()

    # The submission queued the run again; a worker process (django-q2's task, here called
    # directly) runs it on, and its events reach the open run view.
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from workflows import worker; from workflows.live import events; "
         "print(worker.drain()); events.publisher().flush()"],
        cwd=ROOT, env={**worker_env(), "WORKFLOW_RUN_INLINE": ""}, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    run_view.locator('[data-step-id="done"][data-status="succeeded"]').first.wait_for(
        state="attached", timeout=5000
    )
    run_view.locator("[data-run-status] .badge-run-completed").wait_for(timeout=5000)
    sync_api.expect(into_done).to_have_class("edge edge-edge edge-taken")
    assert WorkflowRun.objects.get(pk=run_id).status == "completed"
    assert run_view.evaluate(
        "Array.from(document.querySelectorAll('[data-canvas-stage] [data-step-id]')).every((el) => el.kept)"
    )
    assert (
        run_view.locator('[data-canvas-stage] [data-step-id="ask"]').first.get_attribute(
            "data-status"
        )
        == "succeeded"
    )


def test_a_form_a_worker_creates_appears_on_pages_of_two_web_processes_over_redis(browser):
    from .test_live_sockets import REDIS_URL, session_of

    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    workspace = make_workspace("acme")
    ada = make_user("ada@example.com", workspace, Role.MEMBER, password=PASSWORD)
    fields = [{"name": "budget", "label": "Budget", "type": "number"}]
    workflow = published(workspace, graph(step("ask", "form", {"title": "Two", "fields": fields})))
    servers = [start_daphne(port, REDIS_URL) for port in (PORT + 1, PORT + 2)]
    try:
        pages = []
        for port in (PORT + 1, PORT + 2):
            context = browser.new_context()
            context.add_cookies(
                [{"name": "sessionid", "value": session_of(ada), "url": f"http://127.0.0.1:{port}"}]
            )
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/forms/")
            page.wait_for_selector("body[data-live-ready]")
            pages.append(page)
        env = {**worker_env(), "REDIS_URL": REDIS_URL}
        subprocess.run(
            [sys.executable, str(ROOT / "tests/workflows/live_worker.py"), "run", str(workflow.pk)],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        for page in pages:
            page.locator("form[data-form-id]", has_text="Two").wait_for(timeout=5000)
    finally:
        for server in servers:
            stop_daphne(server)
