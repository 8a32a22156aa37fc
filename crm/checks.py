"""System checks of the deployment settings (SPEC section 1: with DEBUG off the app refuses to
start without a SECRET_KEY of its own)."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

MISSING_SECRET_KEY = (
    "SECRET_KEY is not set: with DEBUG off the app needs a secret key of its own (the built-in "
    "development key is public, so anyone could forge sessions and password-reset links)."
)
HOW_TO_SET_IT = (
    "Set the SECRET_KEY environment variable to a long random value, for example the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, or set DEBUG=1 for "
    "development. `make run` generates one for this checkout in data/secret_key."
)


def has_own_secret_key() -> bool:
    return settings.DEBUG or (
        bool(settings.SECRET_KEY) and settings.SECRET_KEY != settings.INSECURE_DEVELOPMENT_KEY
    )


@register()
def secret_key_is_set(app_configs=None, **kwargs):
    if has_own_secret_key():
        return []
    return [Error(MISSING_SECRET_KEY, hint=HOW_TO_SET_IT, id="crm.E001")]


def refuse_to_start_without_secret_key() -> None:
    """For entry points that run no system checks (daphne loading crm.asgi)."""
    if not has_own_secret_key():
        raise ImproperlyConfigured(f"{MISSING_SECRET_KEY} {HOW_TO_SET_IT}")
