"""Signed, expiring survey links.

A link token carries its claims (survey, customer, touchpoint, hidden fields, language, expiry, single use,
nonce) as compact base64url JSON, followed by an HMAC-SHA256 of that text under the workspace secret: the
server needs no lookup to know who a link is for, and changing any byte of it makes the signature fail.

Single use is enforced in the store (`link_uses`, one row per consumed nonce): the survey pages call
`consume` when a response completes and `is_consumed` before showing the first page. Invitations know they
were answered the same way (their link's nonce is in `link_uses`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from momenti.core.args import parse_duration  # noqa: F401 - where callers have imported it
from momenti.core.clock import naive_utc, utcnow
from momenti.core.errors import InputError
from momenti.core.secrets import secret_key, secret_keys  # noqa: F401 - re-exported: sign with one, verify with all

if TYPE_CHECKING:
    from momenti.domains.context import Context



class LinkInvalid(InputError):
    """The token was not made by this workspace, or was changed since (or is not a token at all)."""


class LinkExpired(InputError):
    """A genuine link past its expiry date."""

    status_code = 410


@dataclass
class LinkClaims:
    survey: str
    customer_id: str | None = None
    touchpoint: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)
    lang: str | None = None
    expires_at: dt.datetime = field(default_factory=lambda: utcnow() + dt.timedelta(days=30))
    single_use: bool = True
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(9))

    @property
    def anonymous(self) -> bool:
        return self.customer_id is None


# -- tokens ------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def sign(claims: LinkClaims, secret: bytes) -> str:
    """The token of `claims`: `<payload>.<signature>`, URL-safe, no padding."""
    if not claims.survey:
        raise InputError("a link needs a survey key")
    expires = naive_utc(claims.expires_at).replace(tzinfo=dt.UTC)
    doc: dict[str, Any] = {"s": claims.survey, "e": int(expires.timestamp()), "n": claims.nonce}
    # Only what is set: a shorter token is a shorter URL in the e-mail.
    if claims.customer_id is not None:
        doc["c"] = str(claims.customer_id)
    if claims.touchpoint:
        doc["t"] = claims.touchpoint
    if claims.hidden:
        doc["h"] = {str(k): str(v) for k, v in claims.hidden.items()}
    if claims.lang:
        doc["l"] = claims.lang
    if not claims.single_use:
        doc["m"] = 1  # multi-use
    payload = _b64(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{_mac(payload, secret)}"


def _keys(secret: bytes | Sequence[bytes]) -> list[bytes]:
    keys = [secret] if isinstance(secret, bytes | bytearray) else list(secret)
    if not keys:
        raise InputError("no key to verify a link with")
    return keys


def _signed_by_one(payload: str, signature: str, keys: list[bytes]) -> bool:
    # compare_digest against every key (no early exit): the time taken must not tell an attacker how many
    # signature bytes were right, nor which key of the ring matched.
    found = False
    for key in keys:
        found |= hmac.compare_digest(_mac(payload, key), signature)
    return found


def verify(token: str, secret: bytes | Sequence[bytes], now: dt.datetime | None = None) -> LinkClaims:
    """The claims of a genuine, unexpired token; LinkInvalid or LinkExpired otherwise. `secret`: one key, or the
    keys of the ring (`secret_keys(settings)`: current and retired), any of which may have signed it; the link's
    own expiry applies whichever key signed it."""
    token = (token or "").strip()
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature or len(token) > 4096:
        raise LinkInvalid("this link is not valid (malformed token)")
    if not _signed_by_one(payload, signature, _keys(secret)):
        raise LinkInvalid("this link is not valid (signature mismatch: changed, or made by another server)")
    try:
        doc = json.loads(_unb64(payload))
        expires = dt.datetime.fromtimestamp(int(doc["e"]), dt.UTC).replace(tzinfo=None)
        claims = LinkClaims(survey=str(doc["s"]), customer_id=doc.get("c"), touchpoint=doc.get("t"),
                            hidden=dict(doc.get("h") or {}), lang=doc.get("l"), expires_at=expires,
                            single_use=not doc.get("m"), nonce=str(doc["n"]))
    except (ValueError, KeyError, TypeError) as exc:  # signed by us but unreadable: a format we never made
        raise LinkInvalid("this link is not valid (unreadable claims)") from exc
    if naive_utc(now or utcnow()) >= claims.expires_at:
        raise LinkExpired(f"this link expired on {claims.expires_at:%Y-%m-%d %H:%M} UTC")
    return claims


# -- single use --------------------------------------------------------------------------------------------


def consume(ws: Context, claims: LinkClaims, now: dt.datetime | None = None) -> bool:
    """Mark a single-use link as used (call when its response completes). True the first time; False if it
    was already used (a double submit) or the link is multi-use (nothing to record)."""
    from momenti.store.models import LinkUse

    if not claims.single_use:
        return False
    row = {"nonce": claims.nonce, "survey_key": claims.survey, "customer_key": claims.customer_id,
           "used_at": naive_utc(now or utcnow())}
    try:
        with ws.engine.begin() as conn:
            conn.execute(insert(LinkUse), [row])
    except IntegrityError:
        return False
    return True


def is_consumed(ws: Context, claims: LinkClaims) -> bool:
    from momenti.store.models import LinkUse

    if not claims.single_use:
        return False
    with ws.engine.connect() as conn:
        return conn.execute(select(LinkUse.nonce).where(LinkUse.nonce == claims.nonce)).first() is not None


# -- helpers for the CLI and invitations -------------------------------------------------------------------

def survey_url(base_url: str, survey: str, token: str) -> str:
    """The public page a link opens (the survey pages read `?t=`)."""
    return f"{base_url.rstrip('/')}/s/{survey}?t={token}"


# -- unsubscribe tokens ------------------------------------------------------------------------------------
# Signed like survey links but under a key derived for this purpose only (a survey token can never pass as an
# unsubscribe token or back), and with no expiry: an unsubscribe link in an old e-mail must still work.


def _unsubscribe_key(secret: bytes) -> bytes:
    return hashlib.sha256(b"momenti-unsubscribe\x00" + secret).digest()


def sign_unsubscribe(customer_id: str, secret: bytes, email: str | None = None, lang: str | None = None) -> str:
    doc: dict[str, Any] = {"c": str(customer_id)}
    if email:
        doc["m"] = email
    if lang:
        doc["l"] = lang
    payload = _b64(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{_mac(payload, _unsubscribe_key(secret))}"


def verify_unsubscribe(token: str, secret: bytes | Sequence[bytes]) -> dict[str, str | None]:
    """{"customer_id", "email", "lang"} of a genuine unsubscribe token; LinkInvalid otherwise. `secret`: one key
    or the keys of the ring, as for `verify`."""
    payload, dot, signature = (token or "").strip().partition(".")
    keys = [_unsubscribe_key(k) for k in _keys(secret)]
    if not dot or len(token) > 4096 or not _signed_by_one(payload, signature, keys):
        raise LinkInvalid("this unsubscribe link is not valid")
    try:
        doc = json.loads(_unb64(payload))
        return {"customer_id": str(doc["c"]), "email": doc.get("m"), "lang": doc.get("l")}
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkInvalid("this unsubscribe link is not valid") from exc


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"
