"""Every step type and trigger kind declares its settings once; validation reads them."""

import pytest

from workflows.settings_schema import KINDS as SETTING_KINDS
from workflows.steps import REGISTRY
from workflows.triggers.kinds import KINDS
from workflows.validation import validate

from .helpers import graph, step

# SPEC 8.1: the picker's buttons.
STEP_LABELS = {
    "create_record": "Create record", "update_record": "Update record",
    "delete_record": "Delete record", "find_records": "Find records",
    "upsert_record": "Upsert record", "add_tags": "Add tags", "remove_tags": "Remove tags",
    "archive_record": "Archive record", "restore_record": "Restore record",
    "iterator": "Iterator", "filter": "Filter", "if_else": "If / else", "delay": "Delay",
    "send_email": "Send email", "code": "Code", "http_request": "HTTP request", "form": "Form",
    "notify": "Notify", "ai_agent": "AI agent",
}  # fmt: skip
TRIGGER_LABELS = {
    "record_created": "Record created", "record_updated": "Record updated",
    "record_created_or_updated": "Record created or updated",
    "record_deleted": "Record deleted", "record_archived": "Record archived",
    "record_restored": "Record restored", "schedule": "Schedule", "datetime": "Date and time",
    "manual": "Manual", "webhook": "Webhook", "date_relative": "Before or after a date",
    "form_submitted": "Form submitted",
}  # fmt: skip


@pytest.mark.parametrize("step_type", sorted(REGISTRY))
def test_every_step_type_declares_its_picker_label_group_and_settings(step_type):
    handler = REGISTRY[step_type]
    assert handler.label == STEP_LABELS[step_type]
    assert handler.group in ("Records", "Flow", "Outside", "People")
    assert handler.settings_schema
    assert all(s.kind in SETTING_KINDS for s in handler.settings_schema)


@pytest.mark.parametrize("trigger_type", sorted(KINDS))
def test_every_trigger_kind_declares_its_picker_label(trigger_type):
    assert KINDS[trigger_type].label == TRIGGER_LABELS[trigger_type]


def messages(raw):
    return [p.message for p in validate(raw)]


def test_an_unknown_step_type_lists_the_valid_types():
    (message,) = [m for m in messages(graph(step("a", "create_task"))) if "step type" in m]
    assert message.startswith("Unknown step type 'create_task'; use one of ")
    assert "create_record" in message and "send_email" in message


def test_an_unknown_trigger_type_lists_the_valid_types():
    found = messages({"trigger": {"type": "sometimes", "settings": {}}, "steps": []})
    assert any("use one of record_created" in m and "webhook" in m for m in found), found


def test_a_declared_field_setting_is_checked_against_the_chosen_object():
    found = messages(graph(step("f", "find_records", {"object": "person", "order_by": "-shoe"})))
    assert "order_by: person has no field 'shoe'." in found


def test_a_where_condition_names_only_fields_of_the_object():
    where = {"all": [{"field": "planet", "op": "eq", "value": "x"}]}
    found = messages(graph(step("f", "find_records", {"object": "person", "where": where})))
    assert "where: person has no field 'planet'." in found


def test_declared_ranges_are_checked_with_the_settings_path():
    found = messages(graph(step("f", "find_records", {"object": "person", "limit": 5000})))
    assert "limit must be at most 1000." in found


def test_on_error_is_checked_from_its_declaration():
    bad = step("n", "create_record", {"object": "note", "values": {}}, on_error={"retry": 11})
    assert "on_error.retry must be at most 10." in messages(graph(bad))


def test_a_trigger_setting_outside_its_choices_lists_them():
    trigger = {"type": "manual", "settings": {"mode": "some"}}
    assert "mode must be one of single, bulk." in messages(graph(trigger=trigger))


def test_an_empty_iterator_says_to_add_a_step_inside_it():
    # The builder inserts an iterator with no body; its problem must say what to do there.
    empty = step("each", "iterator", {"items": "{{trigger.records}}", "loop": []})
    (message,) = [m for m in messages(graph(empty)) if "loop" in m]
    assert "add a step inside the iterator" in message
