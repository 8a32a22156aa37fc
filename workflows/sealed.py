"""Resume data encrypted at rest (SPEC section 4, Secrets).

Stored step outputs show `***` for every secret value; a run that resumes or is retried must
still compute exactly what it would have without the interruption, so the executor keeps the
real output too, sealed with Fernet under a key derived from SECRET_KEY (HKDF-SHA256). Only the
executor unseals it; pages, the API and the admin read the masked `output`.
"""

import base64
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"workflows.sealed").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(json.dumps(value).encode()).decode()


def unseal(token: str, fallback=None):
    """The sealed value; `fallback` (the masked output) when SECRET_KEY changed since."""
    try:
        return json.loads(_fernet(settings.SECRET_KEY).decrypt(token.encode()))
    except (InvalidToken, ValueError):
        return fallback
