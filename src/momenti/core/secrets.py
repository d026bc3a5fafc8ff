"""The one secret of a deployment and what is derived from it.

MOMENTI_SECRET_KEY, or a random key generated once in the data directory, signs survey links (HMAC) and, through
HKDF with a purpose label, gives each other use its own key (the Fernet key of kept original texts), so no two
uses share key material.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from momenti.core.errors import InputError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from momenti.core.config import Settings

SECRET_FILE = "secret.key"
MIN_SECRET_CHARS = 16


def secret_key(settings: Settings) -> bytes:
    """MOMENTI_SECRET_KEY, or a random key generated once and kept in the data directory (mode 600)."""
    configured = getattr(settings, "secret_key", None)
    if configured:
        if len(configured) < MIN_SECRET_CHARS:
            raise InputError(f"MOMENTI_SECRET_KEY is too short: use at least {MIN_SECRET_CHARS} random characters")
        return configured.encode("utf-8")
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting at once agree on one key, the loser reads the winner's
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    for _ in range(50):  # the winner may still be writing
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text.encode("utf-8")
        time.sleep(0.01)
    raise InputError(f"{path} is empty: delete it (new links will be made with a new key) or set MOMENTI_SECRET_KEY")


def derived_key(settings: Settings, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 of the deployment's secret for one purpose (`info`), salt none."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret_key(settings))


def fernet(settings: Settings, info: bytes) -> Fernet:
    """A Fernet cipher keyed by `derived_key(settings, info)`."""
    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(derived_key(settings, info)))
