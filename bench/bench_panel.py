"""What the builder's settings panel costs on the server (SPEC 8.1, issue 12 goal: one settings
save, median under 30 ms), in a 100-step workflow so validation reads a real graph:

- draw a step's panel (GET: the form from the declaration, the variable picker of everything
  that runs before it, validation of the draft);
- one settings save (POST: the form read back, `edits.update_step` with its undo snapshot and
  revision, validation, the panel drawn again).

Both go through Django's test client (middleware, session, CSRF-exempt test requests).
"""

import statistics
import time

from bench.harness import BenchContext, Row

STEPS = 100


def graph() -> dict:
    steps = []
    for n in range(STEPS):
        step_id = f"s{n}"
        following = [f"s{n + 1}"] if n + 1 < STEPS else []
        if n % 2 == 0:
            step = {"id": step_id, "name": f"Find {n}", "type": "find_records",
                    "settings": {"object": "person", "where": {"all": [
                        {"field": "email", "op": "eq", "value": "{{trigger.body.email}}"}]},
                        "limit": 1}}  # fmt: skip
        else:
            step = {"id": step_id, "name": f"Update {n}", "type": "update_record",
                    "settings": {"object": "person", "id": f"{{{{steps.s{n - 1}.first.id}}}}",
                                 "values": {"job_title": "{{trigger.body.title}}"}}}  # fmt: skip
        steps.append({**step, "next": following})
    trigger = {"type": "webhook", "settings": {"method": "POST"}, "next": ["s0"]}
    return {"trigger": trigger, "steps": steps}


def median_ms(operation, count: int) -> float:
    times = []
    for n in range(count):
        start = time.perf_counter()
        operation(n)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(ctx: BenchContext) -> list[Row]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings

    from crm.models import Membership, Role, Workspace
    from workflows import services

    workspace = Workspace.objects.create(slug="bench", name="Bench")
    user = get_user_model().objects.create_user("bench@example.com", "bench@example.com", "pw")
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    workflow = services.create_workflow(workspace, "Bench", user=user, graph=graph())
    services.save_draft(workflow, graph())
    url = f"/workflows/{workflow.pk}/builder/steps/s{STEPS - 1}/panel/"

    with override_settings(ALLOWED_HOSTS=["*"]):
        client = Client()
        client.force_login(user)

        def draw(_):
            assert client.get(url).status_code == 200

        def save(n):
            response = client.post(
                url,
                {"name": f"Update {n}", "object": "person", "id": "{{steps.s98.first.id}}",
                 "values.job_title": f"Title {n} {{{{trigger.body.title}}}}"},
                HTTP_HX_REQUEST="true",
            )  # fmt: skip
            assert response.status_code == 200 and "HX-Trigger" in response

        draw(0), save(0)  # warm up
        count = max(20, int(ctx.seconds * 10))
        draw_ms = median_ms(draw, count)
        save_ms = median_ms(save, count)
    return [
        ctx.row("builder panel", f"draw a step's panel ({STEPS}-step workflow)", draw_ms,
                "ms median", f"{count} requests; form + variable picker + validation"),
        ctx.row("builder panel", f"one settings save ({STEPS}-step workflow)", save_ms,
                "ms median", f"{count} saves; goal < 30 ms; parse, update_step, validate, redraw"),
    ]  # fmt: skip
