"""Passwords: the policy (length, a list of common passwords) and argon2 hashing through pwdlib.

The common-password list is Django's (BSD-3-Clause, compiled by Royce Williams from leaked-password lists):
20 k passwords, shipped gzipped beside this module so no check needs the network.
"""

from __future__ import annotations

import gzip
import string
from functools import cache
from pathlib import Path

from pwdlib import PasswordHash

from momenti.core.errors import InputError

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; a megabyte "password" would only cost CPU
COMMON = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()  # argon2id with the library's current parameters


@cache
def _common() -> frozenset[str]:
    with gzip.open(COMMON, "rt", encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip())


def _core(password: str) -> str:
    # "Password2026!" is "password" with a year and a mark: the usual way people meet a length rule.
    return password.lower().strip(string.digits + string.punctuation + " ")


def check_password(password: str, email: str | None = None) -> None:
    """Raise InputError saying why the password is refused; return when it is acceptable."""
    if len(password) < MIN_LENGTH:
        raise InputError(f"password: at least {MIN_LENGTH} characters (this one has {len(password)})")
    if len(password) > MAX_LENGTH:
        raise InputError(f"password: at most {MAX_LENGTH} characters")
    low = password.lower()
    if low in _common() or (len(_core(password)) >= 4 and _core(password) in _common()):
        raise InputError("password: too common (it is on a list of leaked passwords); choose another")
    if len(set(low)) < 4:
        raise InputError("password: too few different characters")
    if email and email.split("@", 1)[0].lower() in low and len(email.split("@", 1)[0]) >= 4:
        raise InputError("password: must not contain the e-mail address")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if not hashed:
        # The same work as a real check, so a missing account is not told apart by timing.
        _hasher().verify(password, _dummy_hash())
        return False
    try:
        return _hasher().verify(password, hashed)
    except Exception:  # noqa: BLE001 - a malformed stored hash is a failed check, not a crash
        return False


@cache
def _dummy_hash() -> str:
    return _hasher().hash("momenti-dummy-password-for-timing")
