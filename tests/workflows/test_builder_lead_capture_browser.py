"""SPEC 9's web-form lead capture built from nothing in a real browser (Debian's chromium through
Playwright), with clicks and typing only and the names of SPEC 8.1's contract table: every
setting typed or chosen in the settings panel and saved, then published, activated, called at
the webhook URL the trigger's panel shows, and its run opened from the Runs tab with every step
on the run view's canvas. Screenshots: /tmp/screens/lead-capture-*.png."""

import pytest

from tests.crm.test_browser import browser  # noqa: F401  (chromium fixture)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from crm.models import Person, Task  # noqa: E402
from workflows.graph import Graph  # noqa: E402
from workflows.models import OutboxEmail, Workflow, WorkflowRun  # noqa: E402

from .test_builder_browser import add, login, shot  # noqa: E402


def panel_of(page, step_id: str):
    panel = page.locator(f'.settings-panel[data-panel-step="{step_id}"]')
    expect(panel).to_be_visible()
    return panel


def open_card(page, name: str, step_id: str):
    page.get_by_role("button", name=name, exact=True).click()
    return panel_of(page, step_id)


def save(page, panel, step_id: str, name: str) -> None:
    """Save, with no problem left on the step, and the canvas redrawn with its card's name."""
    panel.get_by_role("button", name="Save", exact=True).click()
    saved = panel_of(page, step_id).locator(".panel-saved")
    expect(saved).to_have_text("Saved.")
    card = page.locator(f'.canvas-card[data-step-id="{step_id}"]')
    expect(card).to_have_accessible_name(name)
    expect(card).not_to_have_attribute("aria-invalid", "true")


def insert_variable(panel, name: str, path: str) -> None:
    """Opens the variable picker beside the input `name` and chooses `path` (at the end)."""
    field = panel.locator(f'[name="{name}"]')
    field.click()
    field.press("End")
    holder = panel.locator(
        ".with-variable, .record-field, .form-field, .keyvalue-row",
        has=panel.page.locator(f'[name="{name}"]'),
    )
    holder.last.get_by_role("button", name="Insert variable").click()
    picker = panel.get_by_role("dialog", name="Insert variable")
    picker.get_by_label("Search variables").fill(path)
    picker.get_by_role("button", name=path, exact=True).click()
    expect(picker).to_be_hidden()


def step_ids(workflow) -> dict:
    return {s["name"]: s["id"] for s in Graph.parse(workflow.draft.graph).steps.values()}


@pytest.mark.django_db(transaction=True)
def test_lead_capture_is_built_published_called_and_its_run_shown_by_clicks(
    browser,  # noqa: F811
    live_server,
):
    page, workspace = login(browser, live_server)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_default_timeout(10_000)

    # A blank workflow from the list.
    page.goto(f"{live_server.url}/workflows/")
    page.get_by_role("link", name="New workflow").click()
    page.get_by_label("Name", exact=True).fill("Web lead capture")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("h1")).to_have_text("Web lead capture")
    workflow = Workflow.objects.get(workspace=workspace, name="Web lead capture")

    # Trigger: a webhook whose expected body feeds the variable picker.
    page.get_by_role("button", name="Choose a trigger", exact=True).click()
    page.get_by_role("dialog", name="Choose a trigger").get_by_role(
        "button", name="Webhook", exact=True
    ).click()
    panel = open_card(page, "Trigger", "trigger")
    panel.locator('select[name="method"]').select_option("POST")
    panel.locator('select[name="auth"]').select_option("none")
    for index, key in enumerate(("email", "first_name", "title")):
        panel.locator(f'input[name="expected_body.{index}.key"]').fill(key)
        panel.locator(f'input[name="expected_body.{index}.value"]').fill("text")
        panel.get_by_role("button", name="Add row").click()
        panel = panel_of(page, "trigger")
    save(page, panel, "trigger", "Trigger")
    shot(page, "lead-capture-1-trigger.png")

    # Find the person by email.
    add(page, "Add step after Trigger", "Find records")
    ids = step_ids(workflow)
    find = ids["Find records"]
    panel = open_card(page, "Find records", find)
    panel.locator('input[name="name"]').fill("Find person")
    panel.locator('select[name="object"]').select_option("person")
    panel = panel_of(page, find)
    panel.get_by_role("button", name="Add condition").click()
    panel = panel_of(page, find)
    panel.locator('select[name="where.all.0.field"]').select_option("email")
    panel.locator('select[name="where.all.0.op"]').select_option("eq")
    insert_variable(panel, "where.all.0.value", "trigger.body.email")
    expect(panel.locator('input[name="where.all.0.value"]')).to_have_value("{{trigger.body.email}}")
    panel.locator('input[name="limit"]').fill("1")
    save(page, panel, find, "Find person")
    shot(page, "lead-capture-2-find.png")

    # Known? An if/else whose branch is "the find found someone".
    add(page, "Add step after Find person", "If / else")
    branch_step = step_ids(workflow)["If / else"]
    panel = open_card(page, "If / else", branch_step)
    panel.locator('input[name="name"]').fill("Known?")
    panel.locator('input[name="branches.0.name"]').fill("known")
    # A new branch matches always (no condition): Add condition draws its first row.
    left = panel.locator('input[name="branches.0.when.all.0.left"]')
    expect(left).to_have_count(0)
    panel.locator(".branch").get_by_role("button", name="Add condition").click()
    panel = panel_of(page, branch_step)
    insert_variable(panel, "branches.0.when.all.0.left", f"steps.{find}.count")
    expect(left).to_have_value(f"{{{{steps.{find}.count}}}}")
    panel.locator('select[name="branches.0.when.all.0.op"]').select_option("gt")
    panel.locator('input[name="branches.0.when.all.0.right"]').fill("0")
    save(page, panel, branch_step, "Known?")
    shot(page, "lead-capture-3-if-else.png")

    # known: update the found person; else: create them from the body.
    add(page, "Add step to known", "Update record")
    update = step_ids(workflow)["Update record"]
    panel = open_card(page, "Update record", update)
    panel.locator('input[name="name"]').fill("Update person")
    panel.locator('select[name="object"]').select_option("person")
    panel = panel_of(page, update)
    insert_variable(panel, "id", f"steps.{find}.first.id")
    insert_variable(panel, "values.job_title", "trigger.body.title")
    save(page, panel, update, "Update person")

    add(page, "Add step to else", "Create record")
    create = step_ids(workflow)["Create record"]
    panel = open_card(page, "Create record", create)
    panel.locator('input[name="name"]').fill("Create person")
    panel.locator('select[name="object"]').select_option("person")
    panel = panel_of(page, create)
    insert_variable(panel, "values.email", "trigger.body.email")
    panel.locator('input[name="values.first_name"]').fill("{{trigger.body.first_name}}")
    panel.locator('input[name="values.job_title"]').fill("{{trigger.body.title}}")
    save(page, panel, create, "Create person")
    shot(page, "lead-capture-4-branches.png")

    # After the merge: a follow-up task, then an email to sales.
    add(page, "Add step after Known?", "Create record")
    task = step_ids(workflow)["Create record"]
    panel = open_card(page, "Create record", task)
    panel.locator('input[name="name"]').fill("Follow-up task")
    panel.locator('select[name="object"]').select_option("task")
    panel = panel_of(page, task)
    panel.locator('input[name="values.title"]').fill("Follow up with ")
    insert_variable(panel, "values.title", "trigger.body.email")
    # Linked to the person of whichever branch ran (the other's path is missing, so empty).
    insert_variable(panel, "values.person", f"steps.{update}.record.id")
    insert_variable(panel, "values.person", f"steps.{create}.record.id")
    save(page, panel, task, "Follow-up task")

    add(page, "Add step after Follow-up task", "Send email")
    email = step_ids(workflow)["Send email"]
    panel = open_card(page, "Send email", email)
    panel.locator('input[name="name"]').fill("Email sales")
    panel.locator('input[name="to"]').fill("sales@example.com")
    panel.locator('input[name="subject"]').fill("New lead: ")
    insert_variable(panel, "subject", "trigger.body.email")
    panel.locator('[name="body"]').fill("Task: {{steps." + task + ".record.title}}")
    save(page, panel, email, "Email sales")
    expect(page.locator("#builder-problem-count")).to_have_text("")  # nothing left to fix
    zoom_to_fit(page, 7)
    shot(page, "lead-capture-5-built.png")

    graph = Graph.parse(Workflow.objects.get(pk=workflow.pk).draft.graph)
    assert graph.trigger["next"] == [find]
    assert graph.steps[find]["next"] == [branch_step]
    settings = graph.steps[branch_step]["settings"]
    assert settings["branches"][0]["next"] == [update]
    assert settings["else_next"] == [create]
    assert graph.steps[update]["next"] == graph.steps[create]["next"] == [task]
    assert graph.steps[task]["next"] == [email]

    # Publish (which activates it), then the webhook URL as the trigger's panel shows it and its
    # Copy button copies it: the published version's panel is read-only but still copies.
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("the new version is active")).to_be_visible()
    page.get_by_role("button", name="Trigger", exact=True).click()
    url_field = page.get_by_label("Webhook URL")
    expect(url_field).to_be_visible()
    page.get_by_role("button", name="Copy", exact=True).click()
    url = page.evaluate("navigator.clipboard.readText()")
    assert url == url_field.input_value()
    assert url.startswith(live_server.url) and f"/webhooks/{workflow.webhook_token}/" in url
    shot(page, "lead-capture-6-webhook-url.png")

    # Deactivate stops calls; Activate brings them back.
    lead = {"email": "grace@example.com", "first_name": "Grace", "title": "Engineer"}
    page.get_by_role("button", name="Deactivate", exact=True).click()
    expect(page.get_by_role("button", name="Activate", exact=True)).to_be_visible()
    assert page.request.post(url, data=lead).status == 404
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()
    page.get_by_role("button", name="Activate", exact=True).click()
    expect(page.get_by_role("button", name="Deactivate", exact=True)).to_be_visible()

    # A new lead: the else branch creates the person.
    answer = page.request.post(url, data=lead)
    assert answer.status == 202, answer.text()
    first_run = answer.json()["run_id"]
    statuses = {"trigger": "succeeded", find: "succeeded", branch_step: "succeeded",
                task: "succeeded", email: "succeeded"}  # fmt: skip
    open_run(page, first_run)
    assert_cards(page, {**statuses, update: "not_run", create: "succeeded"})
    shot(page, "lead-capture-7-run-new-lead.png")
    person = Person.objects.get(workspace=workspace, email="grace@example.com")
    assert (person.first_name, person.job_title) == ("Grace", "Engineer")

    # The same lead again: the known branch updates them; each call made its own task.
    page.go_back()
    answer = page.request.post(url, data={**lead, "title": "CTO"})
    assert answer.status == 202, answer.text()
    open_run(page, answer.json()["run_id"])
    assert_cards(page, {**statuses, update: "succeeded", create: "not_run"})
    shot(page, "lead-capture-8-run-known-lead.png")
    person.refresh_from_db()
    assert person.job_title == "CTO"
    assert Person.objects.filter(workspace=workspace, email="grace@example.com").count() == 1
    tasks = Task.objects.filter(workspace=workspace, title="Follow up with grace@example.com")
    assert [t.person_id for t in tasks] == [person.pk, person.pk]
    assert WorkflowRun.objects.get(pk=first_run).status == "completed"
    mails = OutboxEmail.objects.filter(workspace=workspace, to=["sales@example.com"])
    assert sorted(m.subject for m in mails) == ["New lead: grace@example.com"] * 2


def open_run(page, run_id: str) -> None:
    """The Runs tab of the builder lists the run; its link opens the run view."""
    page.get_by_role("tab", name="Runs").click()
    page.get_by_role("link", name=run_id[:8], exact=True).click()
    page.wait_for_url(f"**/runs/{run_id}/")


def zoom_to_fit(page, cards: int) -> None:
    """After Zoom to fit every card is in sight (in the canvas's clipped viewport)."""
    page.get_by_role("button", name="Zoom to fit").click()
    expect(page.locator(".canvas-card")).to_have_count(cards)
    for n in range(cards):
        expect(page.locator(".canvas-card").nth(n)).to_be_in_viewport(ratio=0.99)  # float rounding


def assert_cards(page, statuses: dict[str, str]) -> None:
    zoom_to_fit(page, len(statuses))
    for step_id, status in statuses.items():
        expect(page.locator(f'.canvas-card[data-step-id="{step_id}"]')).to_have_attribute(
            "data-status", status
        )
