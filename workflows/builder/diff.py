"""What changed between two versions' graphs (the Versions tab): steps added, removed, changed."""

from ..graph import Graph


def changes(before: dict | None, after: dict) -> list[str]:
    """Sentences saying what `after` changes in `before` (None: the first version)."""
    new = Graph.parse(after)
    if before is None:
        return [f"First version: {len(new.steps)} step{'s' if len(new.steps) != 1 else ''}."]
    old = Graph.parse(before)
    lines = []
    if old.trigger != new.trigger:
        lines.append("Trigger changed.")
    for step_id, step in new.steps.items():
        name = step.get("name") or step_id
        if step_id not in old.steps:
            lines.append(f"Added {name}.")
        elif old.steps[step_id] != step:
            lines.append(f"Changed {name}.")
    for step_id, step in old.steps.items():
        if step_id not in new.steps:
            lines.append(f"Removed {step.get('name') or step_id}.")
    return lines or ["No change."]
