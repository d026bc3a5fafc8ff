"""Who a privacy request is about: the customer's id and the contact data by which they may also appear inside
free text (e-mail addresses, phone numbers), gathered from the store (customer attributes, invitations,
opt-outs) and from the operator (`--email`, `--phone`), and the patterns that find them in any text.

A phone number is matched by its digits whatever the separators ("+39 347 123 7731", "347-1237731",
"3471237731"); an e-mail without regard to case. The customer's pseudonym (`pseudonym`) is what the audit log
records instead of the id, so erasing a customer never needs to rewrite the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from momenti.store.models import Customer, Invitation, Unsubscribe

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE_KEYS = ("phone", "telefono", "mobile", "cellulare", "tel")
MIN_ID_IN_TEXT = 4


def pseudonym(key: bytes, customer_id: str) -> str:
    """A stable reference to the customer that does not reveal the id: "customer#" and 16 hex digits of an
    HMAC with a key derived from the deployment's secret (the audit log's target for customer-level reads)."""
    return "customer#" + hmac.new(key, customer_id.encode(), hashlib.sha256).hexdigest()[:16]


def _national_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+") or digits.startswith("00"):
        digits = digits.lstrip("0")
        for cc in ("39", "41", "44", "49", "33", "34", "1"):  # the country codes this product meets most
            if digits.startswith(cc) and len(digits) - len(cc) >= 6:
                return digits[len(cc):]
    return digits


@dataclass
class Subject:
    customer_id: str
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)  # national digits

    @property
    def id_in_text(self) -> bool:
        """Whether the id is distinctive enough to look for inside free text: "0" or "42" would match any
        number in any comment, so short ids are found (and removed) only by their key columns."""
        return len(self.customer_id) >= MIN_ID_IN_TEXT

    @property
    def needles(self) -> list[str]:
        """Lower-case strings a search looks for with LIKE (the phone by its last 7 digits, any separators
        being checked afterwards by `patterns`)."""
        out = [self.customer_id.lower()] if self.id_in_text else []
        out += sorted(e.lower() for e in self.emails)
        out += sorted({p[-7:] for p in self.phones if len(p) >= 7})
        return out

    def patterns(self) -> list[re.Pattern[str]]:
        """The id as a whole word (not inside a longer id), e-mails without regard to case, phones by their
        digits with any separators and an optional country prefix, not inside a longer number."""
        pats = [re.compile(r"(?<![A-Za-z0-9])" + re.escape(self.customer_id) + r"(?![A-Za-z0-9])", re.I)] \
            if self.id_in_text else []
        pats += [re.compile(re.escape(e), re.I) for e in sorted(self.emails)]
        for p in sorted(self.phones):
            body = r"[\s.\-/()]*".join(re.escape(d) for d in p)
            pats.append(re.compile(r"(?<!\d)(?:(?:\+|00)\d{1,3}[\s.\-/()]*)?" + body + r"(?!\d)"))
        return pats

    def redact(self, text: str) -> str:
        for pat in self.patterns():
            text = pat.sub("[ERASED]", text)
        return text

    def found_in(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns())

    def holds(self, value: object) -> bool:
        """Whether a column's value quotes the customer: text (and JSON) only; a number or a time never does,
        whatever its digits."""
        if isinstance(value, dict | list):
            import json as _json

            value = _json.dumps(value, ensure_ascii=False)
        return isinstance(value, str) and self.found_in(value)

    def describe(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "emails": len(self.emails), "phones": len(self.phones)}


def gather(s: Session, customer_id: str, emails: list[str] | None = None, phones: list[str] | None = None
           ) -> Subject:
    sub = Subject(customer_id)
    for e in emails or []:
        sub.emails.add(e.strip())
    for p in phones or []:
        if len(_national_digits(p)) >= 6:
            sub.phones.add(_national_digits(p))
    row = s.scalar(select(Customer).where(Customer.customer_key == customer_id))
    if row is not None and row.attributes:
        try:
            attrs = json.loads(row.attributes)
        except ValueError:
            attrs = {}
        for k, v in attrs.items():
            if not isinstance(v, str):
                continue
            sub.emails.update(m.group(0) for m in _EMAIL.finditer(v))
            if any(x in k.lower() for x in _PHONE_KEYS) and len(_national_digits(v)) >= 6:
                sub.phones.add(_national_digits(v))
    sub.emails.update(e for e in s.scalars(select(Invitation.email).where(
        Invitation.customer_key == customer_id, Invitation.email.is_not(None))) if e)
    opt = s.get(Unsubscribe, customer_id)
    if opt is not None and opt.email:
        sub.emails.add(opt.email)
    sub.emails = {e.strip() for e in sub.emails if e and e.strip()}
    return sub
