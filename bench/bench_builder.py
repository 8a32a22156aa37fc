"""The builder (SPEC 8.1): server time to render the page of a 100-step workflow (goal: median
under 100 ms) and one settings save through the edit service (goal: median under 30 ms).

The 100 steps are 25 if/else blocks in a row, each with a step per branch and a step where
they meet, so layout, validation and the template all see branches and merges.
"""

import statistics
import time

from bench.harness import BenchContext, Row

FILTER = {"when": {"all": []}}


def hundred_steps() -> dict:
    steps = []
    entry = "if_0"
    for n in range(25):
        after = [f"if_{n + 1}"] if n < 24 else []
        steps += [
            {"id": f"if_{n}", "name": f"Check {n}", "type": "if_else",
             "settings": {"branches": [{"name": "yes", "when": {"all": []}, "next": [f"yes_{n}"]}],
                          "else_next": [f"no_{n}"]}},
            {"id": f"yes_{n}", "name": f"Yes {n}", "type": "filter", "settings": FILTER, "next": [f"meet_{n}"]},
            {"id": f"no_{n}", "name": f"No {n}", "type": "filter", "settings": FILTER, "next": [f"meet_{n}"]},
            {"id": f"meet_{n}", "name": f"Meet {n}", "type": "filter", "settings": FILTER, "next": after},
        ]  # fmt: skip
    return {"trigger": {"type": "manual", "settings": {}, "next": [entry]}, "steps": steps}


def medians(operation, seconds: float, warmup: int = 3) -> tuple[float, int]:
    for _ in range(warmup):
        operation()
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        start = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), len(samples)


def run(ctx: BenchContext) -> list[Row]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from crm.models import Membership, Role, Workspace
    from workflows import services
    from workflows.builder import edits

    workspace = Workspace.objects.create(slug="bench-builder", name="Bench")
    user = get_user_model().objects.create_user(username="b@example.com", email="b@example.com")
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    workflow = services.create_workflow(workspace, "Hundred", graph=hundred_steps())
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    url = f"/workflows/{workflow.pk}/"

    def render():
        response = client.get(url)
        assert response.status_code == 200 and b'data-step-id="meet_24"' in response.content

    page_ms, pages = medians(render, ctx.seconds)
    size = len(client.get(url).content)
    counter = iter(range(10**9))

    def save():
        edits.update_step(workflow, "yes_3", name=f"Yes {next(counter)}", settings=FILTER)

    save_ms, saves = medians(save, ctx.seconds)
    return [
        ctx.row("builder", "render the builder, 100 steps (median)", page_ms, "ms",
                f"goal < 100 ms; {pages} renders, {size // 1024} KiB of HTML"),
        ctx.row("builder", "one settings save via edits.update_step (median)", save_ms, "ms",
                f"goal < 30 ms; {saves} saves, each with an undo snapshot"),
    ]  # fmt: skip
