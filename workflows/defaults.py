"""The default workflows every new workspace gets, inactive (SPEC section 9)."""


def install_default_workflows(workspace, user=None) -> list:
    """Creates the default workflows in `workspace` (idempotent by name). Filled in by the engine."""
    return []
