"""The words the workflow list and the run view print for trigger and step types."""

import pytest

from workflows.steps import REGISTRY
from workflows.templatetags.workflow_pages import step_label, trigger_text
from workflows.triggers.kinds import KINDS


@pytest.mark.parametrize("step_type", sorted(REGISTRY))
def test_every_step_type_is_shown_by_its_picker_label(step_type):
    assert step_label(step_type) == REGISTRY[step_type].label


@pytest.mark.parametrize("trigger_type", sorted(KINDS))
def test_no_trigger_type_is_shown_as_its_raw_name(trigger_type):
    text = trigger_text({"type": trigger_type, "settings": {"object": "person"}})
    assert text != trigger_type and "_" not in text


def test_a_record_trigger_names_its_object():
    trigger = {"type": "record_archived", "settings": {"object": "company"}}
    assert trigger_text(trigger) == "Company archived"
