"""The draft edit service: every builder edit, reconnection, undo/redo, stale revisions."""

import pytest

from workflows import services
from workflows.builder import edits
from workflows.graph import Graph
from workflows.models import DraftSnapshot
from workflows.services import WorkflowError
from workflows.validation import validate

from .helpers import graph, published, step


def ids(draft):
    return [s["id"] for s in draft.graph["steps"]]


def nexts(draft, step_id):
    return Graph.parse(draft.graph).steps[step_id]["next"]


@pytest.fixture
def chain(workspace):
    """manual trigger -> a -> b -> c (notify steps)."""
    raw = graph(
        step("a", "filter", {"when": {"all": []}}, ["b"]),
        step("b", "filter", {"when": {"all": []}}, ["c"]),
        step("c", "filter", {"when": {"all": []}}),
    )
    return services.create_workflow(workspace, "Chain", graph=raw)


@pytest.fixture
def branching(workspace):
    """trigger -> known (if/else: yes -> touch, else -> create) -> done."""
    raw = graph(
        step(
            "known",
            "if_else",
            {
                "branches": [{"name": "yes", "when": {"all": []}, "next": ["touch"]}],
                "else_next": ["create"],
            },
        ),
        step("touch", "filter", {"when": {"all": []}}, ["done"]),
        step("create", "filter", {"when": {"all": []}}, ["done"]),
        step("done", "filter", {"when": {"all": []}}),
    )
    return services.create_workflow(workspace, "Branching", graph=raw)


def test_insert_after_a_step_puts_it_between_the_step_and_what_followed(chain):
    draft = edits.insert_step(chain, "after:a:", "delay")
    new = [i for i in ids(draft) if i not in ("a", "b", "c")][0]
    assert new == "delay"
    assert nexts(draft, "a") == ["delay"]
    assert nexts(draft, "delay") == ["b"]
    step_ = Graph.parse(draft.graph).steps["delay"]
    assert step_["name"] == "Delay"


def test_insert_after_trigger_and_unknown_type_or_step_are_refused(chain):
    draft = edits.insert_step(chain, "trigger::", "filter")
    assert draft.graph["trigger"]["next"] == ["filter"]
    assert nexts(draft, "filter") == ["a"]
    before = chain.draft.graph
    with pytest.raises(WorkflowError, match="Unknown step type"):
        edits.insert_step(chain, "after:a:", "teleport")
    with pytest.raises(WorkflowError, match="no step 'zzz'"):
        edits.insert_step(chain, "after:zzz:", "filter")
    assert chain.draft.graph == before


def test_a_new_step_gets_a_unique_id_and_name(chain):
    edits.insert_step(chain, "after:a:", "delay")
    draft = edits.insert_step(chain, "after:b:", "delay")
    steps = Graph.parse(draft.graph).steps
    assert steps["delay_2"]["name"] == "Delay 2"


def test_delete_reconnects_around_the_step_and_undo_brings_it_back(chain):
    draft = edits.delete_step(chain, "b")
    assert ids(draft) == ["a", "c"]
    assert nexts(draft, "a") == ["c"]
    draft = edits.undo(chain)
    assert ids(draft) == ["a", "b", "c"] and nexts(draft, "a") == ["b"]
    draft = edits.redo(chain)
    assert ids(draft) == ["a", "c"]


def test_undo_stack_is_in_the_database_and_a_new_edit_clears_redo(chain):
    edits.delete_step(chain, "c")
    edits.undo(chain)
    assert DraftSnapshot.objects.filter(workflow=chain, stack="redo").count() == 1
    edits.insert_step(chain, "after:c:", "delay")
    assert not DraftSnapshot.objects.filter(workflow=chain, stack="redo").exists()
    with pytest.raises(WorkflowError, match="Nothing to redo"):
        edits.redo(chain)


def test_nothing_to_undo(chain):
    with pytest.raises(WorkflowError, match="Nothing to undo"):
        edits.undo(chain)


def test_stale_revision_is_refused_and_the_draft_stays(chain):
    revision = chain.draft.revision
    edits.update_step(chain, "a", name="First", revision=revision)
    with pytest.raises(edits.DraftConflict, match="This draft changed, reload"):
        edits.update_step(chain, "a", name="Second", revision=revision)
    assert Graph.parse(chain.draft.graph).steps["a"]["name"] == "First"


def test_update_step_keeps_edges_and_moves_on_error_to_the_step(branching):
    draft = edits.update_step(
        branching,
        "known",
        name="Known person?",
        settings={
            "branches": [{"name": "known", "when": {"all": []}}],
            "on_error": {"retry": 2},
        },
    )
    known = Graph.parse(draft.graph).steps["known"]
    assert known["name"] == "Known person?"
    assert known["settings"]["branches"][0]["next"] == ["touch"]
    assert known["settings"]["else_next"] == ["create"]
    assert known["on_error"] == {"retry": 2}
    assert "on_error" not in known["settings"]


def test_insert_into_branches_loop_and_after_an_if_else_block(branching):
    draft = edits.insert_step(branching, "branch:known:0", "delay")
    assert Graph.parse(draft.graph).steps["known"]["settings"]["branches"][0]["next"] == ["delay"]
    assert nexts(draft, "delay") == ["touch"]
    draft = edits.insert_step(branching, "branch:known:else", "filter")
    assert Graph.parse(draft.graph).steps["known"]["settings"]["else_next"] == ["filter"]
    draft = edits.insert_step(branching, "after:known:", "send_email")
    # After the block: both branches now reach the new step, which leads to where they met.
    assert nexts(draft, "touch") == ["send_email"] and nexts(draft, "create") == ["send_email"]
    assert nexts(draft, "send_email") == ["done"]


def test_new_if_else_and_iterator_keep_the_flow(chain):
    draft = edits.insert_step(chain, "after:a:", "if_else")
    settings = Graph.parse(draft.graph).steps["if_else"]["settings"]
    assert settings["branches"][0]["next"] == ["b"] and settings["else_next"] == ["b"]
    draft = edits.insert_step(chain, "after:b:", "iterator")
    assert nexts(draft, "iterator") == ["c"]
    draft = edits.insert_step(chain, "loop:iterator:", "delay")
    steps = Graph.parse(draft.graph).steps
    assert steps["iterator"]["settings"]["loop"] == ["delay"]
    assert steps["delay"]["next"] == []
    assert Graph.parse(draft.graph).owner["delay"] == "iterator"


def test_delete_an_if_else_removes_its_branches_and_reconnects_to_the_merge(branching):
    draft = edits.delete_step(branching, "known")
    assert ids(draft) == ["done"]
    assert draft.graph["trigger"]["next"] == ["done"]


def test_duplicate_puts_a_copy_right_after(chain):
    draft = edits.duplicate_step(chain, "b")
    steps = Graph.parse(draft.graph).steps
    assert nexts(draft, "b") == ["b_copy"]
    assert steps["b_copy"]["next"] == ["c"]
    assert steps["b_copy"]["name"] == "B 2"


def test_duplicate_an_if_else_copies_its_branches(branching):
    draft = edits.duplicate_step(branching, "known")
    steps = Graph.parse(draft.graph).steps
    assert {"known_copy", "touch_copy", "create_copy"} <= set(steps)
    assert steps["touch_copy"]["next"] == ["done"]
    assert steps["touch"]["next"] == ["known_copy"]
    assert validate(draft.graph) == []


def test_move_a_step_onto_another_plus(chain):
    draft = edits.move_step(chain, "c", "trigger::")
    assert draft.graph["trigger"]["next"] == ["c"]
    assert nexts(draft, "c") == ["a"]
    assert nexts(draft, "b") == []
    with pytest.raises(WorkflowError, match="inside itself"):
        edits.insert_step(chain, "after:c:", "iterator")
        edits.move_step(chain, "iterator", "loop:iterator:")


def test_paste_a_copied_step_onto_a_branch(branching):
    draft = edits.paste_steps(branching, "branch:known:else", "touch")
    steps = Graph.parse(draft.graph).steps
    assert steps["known"]["settings"]["else_next"] == ["touch_copy"]
    assert steps["touch_copy"]["next"] == ["create"]


def test_set_trigger_keeps_what_follows(chain):
    draft = edits.set_trigger(chain, {"type": "webhook"})
    assert draft.graph["trigger"]["type"] == "webhook"
    assert draft.graph["trigger"]["settings"]["method"] == "POST"
    assert draft.graph["trigger"]["next"] == ["a"]
    with pytest.raises(WorkflowError, match="Unknown trigger type"):
        edits.set_trigger(chain, {"type": "telepathy"})


def test_editing_a_published_workflow_starts_a_draft_from_the_active_version(workspace):
    workflow = published(workspace, graph(step("a", "filter", {"when": {"all": []}})))
    assert workflow.draft is None
    draft = edits.insert_step(workflow, "after:a:", "delay")
    assert ids(draft) == ["a", "delay"]
    assert workflow.active_version.graph["steps"][0]["next"] == []


def test_api_draft_put_goes_through_the_service_and_honours_if_match(api, chain):
    url = f"/api/v1/workflows/{chain.pk}/draft/"
    new = graph(step("x", "filter", {"when": {"all": []}}))
    answer = api.put(url, new, format="json")
    assert answer.status_code == 200, answer.content
    etag = answer["ETag"]
    assert DraftSnapshot.objects.filter(workflow=chain, stack="undo").count() == 1
    assert edits.undo(chain).graph["steps"][0]["id"] == "a"
    stale = api.put(url, new, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 409
    assert "This draft changed, reload" in stale.json()["detail"]


def test_publishing_or_discarding_ends_the_drafts_history(chain):
    edits.delete_step(chain, "c")
    services.publish(chain)
    assert not DraftSnapshot.objects.filter(workflow=chain).exists()
    services.restore_version(chain, 1)
    with pytest.raises(WorkflowError, match="Nothing to undo"):
        edits.undo(chain)
    edits.delete_step(chain, "b")
    services.discard_draft(chain)
    assert not DraftSnapshot.objects.filter(workflow=chain).exists()
