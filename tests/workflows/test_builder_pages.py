"""The builder page and its edit endpoints (SPEC 8.1), through Django's test client."""

import re

import pytest
from django.test import Client

from crm.models import Role
from tests.conftest import make_user, make_workspace
from workflows import services
from workflows.builder import edits
from workflows.gallery import TEMPLATES
from workflows.graph import Graph

from .helpers import graph, published, run_workflow, step

pytestmark = pytest.mark.django_db

BRANCHING = graph(
    step(
        "known",
        "if_else",
        {
            "branches": [
                {"name": "yes", "when": {"all": [{"left": "1", "op": "eq", "right": "1"}]},
                 "next": ["touch"]}
            ],
            "else_next": ["each"],
        },
    ),
    step("touch", "filter", {"when": {"all": []}}),
    step("each", "iterator", {"items": "{{trigger.payload.items}}", "loop": ["inner"]}),
    step("inner", "filter", {"when": {"all": []}}),
)  # fmt: skip


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


def names(html: bytes, attribute="aria-label") -> list[str]:
    return re.findall(rf'{attribute}="([^"]*)"', html.decode())


def revision_of(html: bytes) -> str:
    return re.search(r'data-revision="(\d+)"', html.decode()).group(1)


def test_the_canvas_draws_every_card_and_the_plus_buttons_named_per_the_contract(
    browser, workspace
):
    workflow = services.create_workflow(workspace, "Branching", graph=BRANCHING)
    page = browser.get(f"/workflows/{workflow.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for step_id in ("trigger", "known", "touch", "each", "inner"):
        assert f'data-step-id="{step_id}"' in html
    labels = names(page.content)
    assert {"Trigger", "Known", "Touch", "Each", "Inner"} <= set(labels)
    assert "Add step after Trigger" in labels
    assert "Add step to yes" in labels and "Add step to else" in labels
    assert "Add step inside Each" in labels
    assert "Add step after Known" in labels
    assert "Undo" in html and "Redo" in html and "Zoom to fit" in html
    assert ">Publish<" in html and ">Test<" in html
    assert 'class="canvas-label canvas-label-branch"' in html and ">yes<" in html


def test_the_picker_lists_every_registered_type_grouped(browser, workspace):
    workflow = services.create_workflow(workspace, "W")
    html = browser.get(f"/workflows/{workflow.pk}/").content.decode()
    assert "Search steps" in html
    for label in (
        "Create record",
        "Find records",
        "If / else",
        "Iterator",
        "Send email",
        "HTTP request",
    ):
        assert f">{label}</button>" in html
    for group in ("Records", "Flow", "Outside", "People"):
        assert f"<h3>{group}</h3>" in html
    for trigger in ("Record created", "Webhook", "Schedule", "Manual"):
        assert f">{trigger}</button>" in html


def test_a_new_workflow_shows_choose_a_trigger_and_picking_one_sets_it(browser, workspace):
    response = browser.post("/workflows/new/", {"name": "Leads"})
    page = browser.get(response.url)
    assert 'aria-label="Choose a trigger"' in page.content.decode()
    workflow = services.Workflow.objects.get(name="Leads")
    answer = browser.post(
        f"/workflows/{workflow.pk}/builder/trigger/", {"type": "webhook"}, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 200
    assert 'aria-label="Trigger"' in answer.content.decode()
    assert workflow.draft.graph["trigger"]["type"] == "webhook"


def test_insert_answers_the_canvas_with_a_new_revision_and_problems_out_of_band(browser, workspace):
    workflow = services.create_workflow(workspace, "W")
    revision = workflow.draft.revision
    answer = browser.post(
        f"/workflows/{workflow.pk}/builder/insert/",
        {"at": "trigger::", "type": "create_record", "revision": revision},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-step-id="create_record"' in html
    assert int(revision_of(answer.content)) == revision + 1
    assert 'id="builder-problems" hx-swap-oob="true"' in html
    # The Draft tab's problem count follows too (it said 1, "no trigger", after every fix).
    count = re.search(r'id="builder-problem-count" hx-swap-oob="true"><span [^>]*>(\d+)<', html)
    assert count and count.group(1) == "2"  # no trigger, and the step's missing object
    # The new step has no object yet: its card says so.
    assert re.search(r'data-step-id="create_record"[^>]*aria-invalid="true" title="[^"]+"', html)


def test_a_stale_revision_or_an_unknown_step_is_refused_and_the_draft_stays(browser, workspace):
    workflow = services.create_workflow(workspace, "W", graph=BRANCHING)
    stale = workflow.draft.revision
    edits.delete_step(workflow, "touch")
    before = workflow.draft.graph
    answer = browser.post(
        f"/workflows/{workflow.pk}/builder/insert/",
        {"at": "trigger::", "type": "delay", "revision": stale},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 409
    assert "This draft changed, reload" in answer.content.decode()
    answer = browser.post(
        f"/workflows/{workflow.pk}/builder/steps/nope/delete/", HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 400 and "no step 'nope'" in answer.content.decode()
    answer = browser.post(
        f"/workflows/{workflow.pk}/builder/insert/",
        {"at": "after:known:", "type": "teleport"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 400 and "Unknown step type" in answer.content.decode()
    assert workflow.draft.graph == before


def test_delete_then_undo_through_the_page(browser, workspace):
    workflow = services.create_workflow(workspace, "W", graph=BRANCHING)
    url = f"/workflows/{workflow.pk}/builder/"
    answer = browser.post(url + "steps/touch/delete/", HTTP_HX_REQUEST="true")
    assert 'data-step-id="touch"' not in answer.content.decode()
    answer = browser.post(url + "undo/", HTTP_HX_REQUEST="true")
    assert 'data-step-id="touch"' in answer.content.decode()
    answer = browser.post(url + "redo/", HTTP_HX_REQUEST="true")
    assert 'data-step-id="touch"' not in answer.content.decode()
    # The stack is on the server: a reload still offers Undo.
    page = browser.get(f"/workflows/{workflow.pk}/").content.decode()
    assert re.search(r"data-undo\s+title", page)  # not disabled


def test_duplicate_move_and_paste_through_the_page(browser, workspace):
    workflow = services.create_workflow(workspace, "W", graph=BRANCHING)
    url = f"/workflows/{workflow.pk}/builder/"
    browser.post(url + "steps/touch/duplicate/", HTTP_HX_REQUEST="true")
    assert "touch_copy" in Graph.parse(workflow.draft.graph).steps
    browser.post(url + "steps/touch_copy/move/", {"to": "loop:each:"}, HTTP_HX_REQUEST="true")
    each = Graph.parse(workflow.draft.graph).steps["each"]
    assert each["settings"]["loop"] == ["touch_copy"]
    answer = browser.post(
        url + "paste/", {"at": "branch:known:else", "source": "touch"}, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 200
    known = Graph.parse(workflow.draft.graph).steps["known"]
    assert known["settings"]["else_next"] == ["touch_2"] or known["settings"]["else_next"][
        0
    ].startswith("touch")


def test_viewing_a_published_workflow_never_creates_a_draft(browser, workspace):
    workflow = published(workspace, BRANCHING)
    page = browser.get(f"/workflows/{workflow.pk}/").content.decode()
    assert workflow.draft is None
    assert "Edit in a new draft" in page
    assert 'class="canvas-plus' not in page  # read-only: no "+"
    browser.post(f"/workflows/{workflow.pk}/builder/edit/")
    assert workflow.draft is not None and workflow.draft.graph == BRANCHING
    page = browser.get(f"/workflows/{workflow.pk}/").content.decode()
    assert "Add step after Trigger" in page


def test_a_published_workflows_cards_open_their_read_only_panel_and_an_old_versions_its_own(
    browser, workspace
):
    # Right after publishing there is no draft: the trigger's panel is where the webhook URL is.
    workflow = published(workspace, graph(trigger={"type": "webhook", "settings": {}}))
    panel = f"/workflows/{workflow.pk}/builder/steps/trigger/panel/"
    page = browser.get(f"/workflows/{workflow.pk}/").content.decode()
    assert f'hx-get="{panel}"' in page
    html = browser.get(panel).content.decode()
    assert f"/webhooks/{workflow.webhook_token}/" in html and "published version" in html
    # ...and its Copy button is not in the disabled fieldset of the read-only settings.
    assert '<fieldset class="panel-settings" disabled>' in html
    assert html.index("data-copy=") > html.rindex("</fieldset>")
    # An old version's cards open that version's panel, not the draft's.
    browser.post(f"/workflows/{workflow.pk}/builder/edit/")
    old = browser.get(f"/workflows/{workflow.pk}/?version=1").content.decode()
    assert "read-only" in old and f'hx-get="{panel}"' not in old
    assert f'hx-get="{panel}?version=1"' in old


def test_versions_tab_lists_changes_views_a_version_and_restores_it(browser, workspace):
    workflow = published(workspace, BRANCHING)
    edits.delete_step(workflow, "touch")
    services.publish(workflow)
    page = browser.get(f"/workflows/{workflow.pk}/?tab=versions").content.decode()
    assert "Removed Touch." in page and "First version: 4 steps." in page
    old = browser.get(f"/workflows/{workflow.pk}/?tab=builder&version=1").content.decode()
    assert 'data-step-id="touch"' in old and "read-only" in old
    browser.post(f"/workflows/{workflow.pk}/builder/versions/1/restore/")
    assert "touch" in Graph.parse(workflow.draft.graph).steps


def test_rename_and_describe(browser, workspace):
    workflow = services.create_workflow(workspace, "W")
    browser.post(
        f"/workflows/{workflow.pk}/builder/rename/",
        {"name": "Leads", "description": "From the site"},
    )
    workflow.refresh_from_db()
    assert workflow.name == "Leads" and workflow.description == "From the site"


def test_members_cannot_edit_and_strangers_get_404(workspace):
    workflow = services.create_workflow(workspace, "W", graph=BRANCHING)
    member = Client()
    member.force_login(make_user("member@example.com", workspace, role=Role.MEMBER))
    page = member.get(f"/workflows/{workflow.pk}/").content.decode()
    assert 'class="canvas-plus' not in page
    answer = member.post(
        f"/workflows/{workflow.pk}/builder/steps/touch/delete/", HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 403
    stranger = Client()
    stranger.force_login(make_user("x@example.com", make_workspace("other")))
    assert stranger.get(f"/workflows/{workflow.pk}/").status_code == 404
    assert stranger.post(f"/workflows/{workflow.pk}/builder/undo/").status_code == 404
    assert "touch" in Graph.parse(workflow.draft.graph).steps


def test_the_run_view_draws_the_canvas_with_statuses_and_the_branch_taken(browser, workspace):
    run = run_workflow(workspace, BRANCHING)
    html = browser.get(f"/runs/{run.pk}/").content.decode()
    assert re.search(r'data-step-id="known"[^>]*data-status="succeeded"', html)
    assert re.search(r'data-step-id="touch"[^>]*data-status="succeeded"', html)
    assert re.search(r'data-step-id="each"[^>]*data-status="not_run"', html)
    assert "edge-taken" in html and "edge-untaken" in html


def test_the_test_dialog_is_prefilled_for_the_trigger(browser, workspace):
    raw = graph(
        step("touch", "filter", {"when": {"all": []}}),
        trigger={
            "type": "webhook",
            "settings": {"expected_body": {"email": "text", "age": "number"}},
        },
    )
    workflow = services.create_workflow(workspace, "W", graph=raw)
    html = browser.get(f"/workflows/{workflow.pk}/").content.decode()
    assert "&quot;email&quot;: &quot;&quot;" in html and "&quot;age&quot;: 1" in html


def test_changing_the_trigger_type_keeps_the_steps_and_takes_the_new_defaults(browser, workspace):
    workflow = services.create_workflow(workspace, "W", graph=BRANCHING)
    page = browser.get(f"/workflows/{workflow.pk}/").content.decode()
    assert "Change trigger" in page
    browser.post(
        f"/workflows/{workflow.pk}/builder/trigger/", {"type": "schedule"}, HTTP_HX_REQUEST="true"
    )
    trigger = workflow.draft.graph["trigger"]
    assert trigger["type"] == "schedule" and trigger["next"] == ["known"]
    assert trigger["settings"].get("timezone") == "UTC"


@pytest.mark.parametrize("slug", [template.slug for template in TEMPLATES])
def test_the_builder_opens_on_a_copy_of_every_template(browser, workspace, owner, slug):
    workflow = services.create_workflow_from_template(workspace, slug, user=owner)
    page = browser.get(f"/workflows/{workflow.pk}/")
    assert page.status_code == 200
    assert 'data-step-id="trigger"' in page.content.decode()


@pytest.mark.parametrize("number", ["abc", "-1", "٣", "9" * 5000])
def test_a_panel_asked_for_a_version_that_is_not_a_number_answers_400(browser, workspace, number):
    workflow = published(workspace, graph(trigger={"type": "webhook", "settings": {}}))
    panel = f"/workflows/{workflow.pk}/builder/steps/trigger/panel/"
    answer = browser.get(panel, {"version": number})
    assert answer.status_code == 400
    assert "version must be a version number" in answer.content.decode()


def test_a_panel_asked_for_a_version_the_workflow_lacks_answers_404(browser, workspace):
    workflow = published(workspace, graph(trigger={"type": "webhook", "settings": {}}))
    panel = f"/workflows/{workflow.pk}/builder/steps/trigger/panel/"
    assert browser.get(panel, {"version": "99999999999999999999"}).status_code == 404
