"""Record ids are UUIDs; text from a URL, a form or a workflow is checked here before it
reaches a query, so a malformed id is a clear 4xx (or "not found"), never a database error."""

import uuid


def parse_uuid(value) -> uuid.UUID | None:
    """The UUID `value` spells, or None when it spells none."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None
