"""The `code` step's editor (vendored CodeMirror 5) in a real browser: typing and Save store
the code, the variable picker inserts at the editor's cursor, and without CodeMirror the plain
textarea still saves. Screenshots go to /tmp/runview/."""

import pytest

from tests.crm.test_browser import browser  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api")

from workflows import services  # noqa: E402
from workflows.graph import Graph  # noqa: E402

from .helpers import graph, step  # noqa: E402
from .test_builder_browser import login  # noqa: E402
from .test_run_view_browser import shot  # noqa: E402

CODE = graph(
    step(
        "double",
        "code",
        {"source": "function main(input) {\n  return {};\n}\n", "input": {"n": "{{trigger.body.n}}"}},
        name="Double it",
    ),
    trigger={"type": "webhook", "settings": {"method": "POST"}},
)  # fmt: skip


def source_of(workflow) -> str:
    workflow.refresh_from_db()
    return Graph.parse(workflow.draft.graph).steps["double"]["settings"]["source"]


def open_code_panel(page, live_server, workspace):
    workflow = services.create_workflow(workspace, "Code", graph=CODE)
    page.goto(f"{live_server.url}/workflows/{workflow.pk}/")
    page.get_by_role("button", name="Double it", exact=True).click()
    return workflow, page.locator("#builder-panel")


@pytest.mark.django_db(transaction=True)
def test_typing_in_the_code_editor_and_saving_stores_the_code(browser, live_server):  # noqa: F811
    page, workspace = login(browser, live_server)
    expect = sync_api.expect
    workflow, panel = open_code_panel(page, live_server, workspace)
    editor = panel.locator(".CodeMirror")
    expect(editor).to_be_visible()
    expect(panel.locator("textarea[data-code-editor]")).to_be_hidden()  # CodeMirror took over
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("function main(input) {\nreturn { twice: input.n * 2 };\n}")
    expect(editor.locator(".cm-keyword").first).to_have_text("function")  # highlighted as JS
    shot(page, "code-editor.png")
    panel.get_by_role("button", name="Save", exact=True).click()
    expect(panel.get_by_text("Saved")).to_be_visible()
    assert "return { twice: input.n * 2 };" in source_of(workflow)
    # The saved panel is drawn again, with the editor over the stored code.
    expect(panel.locator(".CodeMirror")).to_contain_text("twice")


@pytest.mark.django_db(transaction=True)
def test_the_variable_picker_inserts_at_the_code_editors_cursor(browser, live_server):  # noqa: F811
    page, workspace = login(browser, live_server)
    expect = sync_api.expect
    workflow, panel = open_code_panel(page, live_server, workspace)
    expect(panel.locator(".CodeMirror")).to_be_visible()
    # The code's source takes no templates (it reads `input`), so it has no "Insert variable"
    # button of its own: give it one, as a template field's label would have.
    page.evaluate(
        """() => {
            const area = document.querySelector("textarea[data-code-editor]");
            const button = document.createElement("button");
            button.type = "button"; button.textContent = "Insert variable";
            button.dataset.insertVariable = area.id; button.id = "code-insert";
            area.closest(".form-field").prepend(button);
            area.codeMirror.setCursor({line: 1, ch: 9});  // after "  return "
        }"""
    )
    page.locator("#code-insert").click()
    panel.get_by_label("Search variables").fill("trigger")
    panel.get_by_role("button", name="trigger.body", exact=True).click()
    expect(panel.locator(".CodeMirror")).to_contain_text("return {{trigger.body}}{};")
    panel.get_by_role("button", name="Save", exact=True).click()
    expect(panel.get_by_text("Saved")).to_be_visible()
    assert "  return {{trigger.body}}{};" in source_of(workflow)


@pytest.mark.django_db(transaction=True)
def test_without_codemirror_the_plain_textarea_saves(browser, live_server):  # noqa: F811
    page, workspace = login(browser, live_server)
    expect = sync_api.expect
    page.route("**/vendor/codemirror*.js", lambda route: route.abort())
    workflow, panel = open_code_panel(page, live_server, workspace)
    area = panel.locator("textarea[data-code-editor]")
    expect(area).to_be_visible()
    expect(panel.locator(".CodeMirror")).to_have_count(0)
    area.fill("function main() { return { plain: true }; }")
    panel.get_by_role("button", name="Save", exact=True).click()
    expect(panel.get_by_text("Saved")).to_be_visible()
    assert "plain: true" in source_of(workflow)
