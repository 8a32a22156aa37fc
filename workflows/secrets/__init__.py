"""Workspace secrets (SPEC sections 2 and 4): `masking` (how templates read them and how
everything a run stores or logs hides them), `service` (the writes the API, the settings
page and the admin share), `api` and `views`."""

from .masking import (  # noqa: F401
    MASK,
    SecretsView,
    WorkspaceSecretValues,
    install_log_masking,
    mask,
    mask_for_workspace,
    masking_logs,
    normalise_name,
)
from .service import (  # noqa: F401
    NAME_MAX_CHARS,
    NAME_PATTERN,
    VALUE_MAX_CHARS,
    create_secret,
    delete_secret,
    find_secret,
    name_errors,
    replace_secret_value,
)
