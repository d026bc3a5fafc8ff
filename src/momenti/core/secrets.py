"""The secret of a deployment, its rotation, and what is derived from it.

MOMENTI_SECRET_KEY, or a random key generated once in the data directory (`secret.key`), signs survey links
(HMAC) and, through HKDF with a purpose label, gives each other use its own key (the Fernet key of kept original
texts and webhook secrets), so no two uses share key material.

The key ring. `momenti secret rotate` makes a new current key (`secret.key`, replaced atomically) and retires the
old one to `secret.retired` (one line per key: its retirement time, then the key; mode 600). Without
MOMENTI_SECRET_KEY the ring is those two files; with it, the ring is the operator's: MOMENTI_SECRET_KEY is the
current key and MOMENTI_SECRET_KEYS_RETIRED (comma-separated, oldest first) the retired ones.

- Signing always uses the current key (`secret_key`).
- Verifying links accepts the current key or any retired one (`secret_keys`, current first): a link made before
  a rotation works until its own expiry.
- Fernet ciphers (`fernet`) encrypt with the current key's derivation and decrypt with every key's.
- What must stay the same across rotations (`stable_derived_key`) derives from the FIRST key of the ring.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from momenti.core.clock import naive_utc, utcnow
from momenti.core.errors import InputError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

    from momenti.core.config import Settings

SECRET_FILE = "secret.key"
RETIRED_FILE = "secret.retired"
MIN_SECRET_CHARS = 16
PRUNED = "pruned"  # third field of a retired line: the key no longer verifies links (derivations only)


@dataclass(frozen=True)
class RetiredKey:
    key: bytes
    retired_at: dt.datetime | None  # naive UTC; None when the operator's environment gives the key
    pruned: bool = False  # kept for derivations and decryption only; links signed with it no longer verify


def _configured(settings: Settings) -> str | None:
    configured = getattr(settings, "secret_key", None)
    if configured and len(configured) < MIN_SECRET_CHARS:
        raise InputError(f"MOMENTI_SECRET_KEY is too short: use at least {MIN_SECRET_CHARS} random characters")
    return configured or None


def secret_key(settings: Settings) -> bytes:
    """The current key: MOMENTI_SECRET_KEY, or a random key generated once and kept in the data directory (mode
    600). Read on every call, so a running server signs with a rotated key at once."""
    configured = _configured(settings)
    if configured:
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


def retired_keys(settings: Settings) -> list[RetiredKey]:
    """The retired keys, oldest first: MOMENTI_SECRET_KEYS_RETIRED when MOMENTI_SECRET_KEY is set, else the lines
    of `secret.retired` in the data directory."""
    if _configured(settings):
        raw = getattr(settings, "secret_keys_retired", None) or ""
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        short = [n for n, k in enumerate(keys, 1) if len(k) < MIN_SECRET_CHARS]
        if short:
            raise InputError(f"MOMENTI_SECRET_KEYS_RETIRED: key {short[0]} is too short "
                             f"(at least {MIN_SECRET_CHARS} characters)")
        return [RetiredKey(k.encode("utf-8"), None) for k in keys]
    path = Path(settings.data_dir) / RETIRED_FILE
    if not path.exists():
        return []
    out: list[RetiredKey] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            at = dt.datetime.fromisoformat(parts[0].removesuffix("Z"))
            out.append(RetiredKey(parts[1].encode("utf-8"), at, len(parts) > 2 and parts[2] == PRUNED))
        except (IndexError, ValueError):
            raise InputError(f"{path}, line {n}: not '<retired at> <key>'") from None
    return out


def secret_keys(settings: Settings) -> list[bytes]:
    """The keys a link may be signed with: the current one first, then the retired ones, newest first (pruned
    keys left out)."""
    current = secret_key(settings)
    older = [r.key for r in reversed(retired_keys(settings)) if not r.pruned and r.key != current]
    return [current, *dict.fromkeys(older)]


def first_key(settings: Settings) -> bytes:
    """The oldest key of the ring (the deployment's first, unless the operator dropped it): the current key
    when nothing was ever rotated."""
    retired = retired_keys(settings)
    return retired[0].key if retired else secret_key(settings)


def _hkdf(key: bytes, info: bytes, length: int) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


def derived_key(settings: Settings, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 of the deployment's current secret for one purpose (`info`), salt none."""
    return _hkdf(secret_key(settings), info, length)


def stable_derived_key(settings: Settings, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256, like `derived_key`, of the FIRST key of the ring: for purposes whose value must not change
    when the key rotates (a pseudonym looked up later, a token in an e-mail already sent). Before any rotation it
    equals `derived_key`."""
    return _hkdf(first_key(settings), info, length)


def fernet(settings: Settings, info: bytes) -> MultiFernet:
    """A Fernet cipher for one purpose: encrypts under the current key's derivation, decrypts under any key of
    the ring (pruned ones too: what they encrypted stays readable)."""
    from cryptography.fernet import Fernet, MultiFernet

    current = secret_key(settings)
    keys = [current, *(r.key for r in reversed(retired_keys(settings)) if r.key != current)]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(_hkdf(k, info, 32))) for k in dict.fromkeys(keys)])


# -- rotation (`momenti secret`) ----------------------------------------------------------------------------


def rotate_check(settings: Settings) -> None:
    """InputError, with the operator's steps, when the ring is the environment's (MOMENTI_SECRET_KEY set)."""
    _refuse_configured(settings, "rotation")


def _refuse_configured(settings: Settings, what: str) -> None:
    if _configured(settings):
        raise InputError(
            f"MOMENTI_SECRET_KEY is set: {what} is the operator's. Generate a new key (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'), set MOMENTI_SECRET_KEY to it and append the old value to "
            "MOMENTI_SECRET_KEYS_RETIRED (comma-separated, oldest first, keep the first: pseudonyms derive from "
            "it), then restart every process")


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically: a temporary file of mode 600 in the same directory, then os.replace."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _retired_text(retired: list[RetiredKey]) -> str:
    return "".join(f"{r.retired_at:%Y-%m-%dT%H:%M:%S}Z {r.key.decode('utf-8')}{' ' + PRUNED if r.pruned else ''}\n"
                   for r in retired)


def rotate(settings: Settings, now: dt.datetime | None = None) -> dict[str, object]:
    """A new current key; the old one retired (it still verifies links until they expire). The retired file is
    written first, so a crash between the two writes loses no key. What was done, no key material."""
    _refuse_configured(settings, "rotation")
    at = (naive_utc(now) or naive_utc(utcnow())).replace(microsecond=0)  # type: ignore[union-attr]
    old = secret_key(settings)  # creates the first key if there is none yet
    retired = retired_keys(settings)
    if not any(r.key == old for r in retired):
        retired.append(RetiredKey(old, at))
    data = Path(settings.data_dir)
    _write_private(data / RETIRED_FILE, _retired_text(retired))
    _write_private(data / SECRET_FILE, secrets.token_urlsafe(48))
    return {"rotated_at": at, "retired": len(retired), "verifying": len(secret_keys(settings))}


def prune(settings: Settings, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Retired keys retired more than `older_than` ago stop verifying links: they stay in the file, marked
    pruned, so that what they encrypted (kept texts, webhook secrets) stays readable and the first key still
    gives the derivations that must not change. The number of keys that stopped verifying."""
    _refuse_configured(settings, "pruning")
    cut = naive_utc(now or utcnow()) - older_than
    retired = retired_keys(settings)
    kept: list[RetiredKey] = []
    n = 0
    for r in retired:
        if r.retired_at is None or r.retired_at > cut or r.pruned:
            kept.append(r)
        else:
            n += 1
            kept.append(RetiredKey(r.key, r.retired_at, pruned=True))
    if n:
        _write_private(Path(settings.data_dir) / RETIRED_FILE, _retired_text(kept))
    return n


@dataclass(frozen=True)
class RetiredInfo:
    retired_at: dt.datetime | None
    pruned: bool
    first: bool  # the first key of the ring: the stable derivations come from it


@dataclass(frozen=True)
class RingStatus:
    source: str  # the file of the current key, or the environment
    current_created_at: dt.datetime | None  # naive UTC; None for MOMENTI_SECRET_KEY
    retired: list[RetiredInfo]


def status(settings: Settings) -> RingStatus:
    """The ring without key material: where it comes from, when the current key was made, the retired keys."""
    if _configured(settings):
        source, created = "environment (MOMENTI_SECRET_KEY)", None
    else:
        path = Path(settings.data_dir) / SECRET_FILE
        secret_key(settings)
        source = str(path)
        created = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None, microsecond=0)
    return RingStatus(source, created, [RetiredInfo(r.retired_at, r.pruned, i == 0)
                                        for i, r in enumerate(retired_keys(settings))])
