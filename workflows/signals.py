"""Signals between the workflow parts, in a module that imports nothing heavy, so the part that
sends and the part that listens never import each other."""

from django.dispatch import Signal

# Sent after commit whenever what a workflow listens to may have changed (publish, activate,
# deactivate, delete), with `workflow`: trigger indexes and schedules resync on it.
workflow_triggers_changed = Signal()
