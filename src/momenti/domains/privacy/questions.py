"""The Workspace's privacy methods: `ws.privacy_export()`, `ws.privacy_erase()`, `ws.privacy_search()` and
`ws.customer_ref()` (the pseudonym the audit log records). The CLI (`momenti privacy`), the REST API
(`/api/v1/privacy/...`) and the admin page call these."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from momenti.core.errors import NotFoundError
from momenti.core.secrets import stable_derived_key
from momenti.domains import audit
from momenti.domains.privacy import erase as eraser
from momenti.domains.privacy import export as exporter
from momenti.domains.privacy.search import search
from momenti.domains.privacy.subject import gather, pseudonym


class PrivacyQuestions:
    """Mixed into the Workspace: needs `settings`, `engine`, `session()`, `warehouse()` and `sync()`."""

    def customer_ref(self, customer_id: str) -> str:
        """The customer's pseudonym ("customer#<16 hex>"): what the audit log records of a customer-level read,
        so the log never holds a customer's id and an erasure never needs to rewrite it. An admin finds a
        customer's entries by computing it (`momenti audit list --customer ID`).

        Its key derives from the FIRST key of the ring, not the current one: entries written before a rotation
        (`momenti secret rotate`) must still be found by the same pseudonym."""
        return pseudonym(stable_derived_key(self.settings, b"momenti audit customer pseudonym"), customer_id)  # type: ignore[attr-defined]

    def _decrypt(self) -> Any:
        from momenti.insights.text.kept import decrypt_original, original_cipher

        cipher = original_cipher(self.settings)  # type: ignore[attr-defined]

        def decrypt(token: str) -> str | None:
            try:
                return decrypt_original(cipher, token)
            except Exception:  # noqa: BLE001 - a token of another key (rotated): the export says so (None)
                return None

        return decrypt

    def privacy_export(self, customer_id: str, out: str | Path | None = None, actor: str = "system",
                       ip: str | None = None) -> tuple[bytes, dict[str, int]]:
        """Every row about the customer, as a zip (JSON + one CSV per table); written to `out` when given.
        (bytes, rows per table)."""
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            blob, counts = exporter.archive(s, customer_id, self._decrypt())
            if not any(counts.values()):
                raise NotFoundError(f"customer {customer_id!r}: nothing is known about them")
            audit.record(s, actor, "privacy.export", self.customer_ref(customer_id),
                         {"rows": sum(counts.values())}, ip=ip)
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_bytes(blob)
        return blob, counts

    def privacy_search(self, customer_id: str, emails: list[str] | None = None,
                       phones: list[str] | None = None) -> dict[str, Any]:
        """Where the customer (their id, e-mail addresses, phone numbers) still appears: store, warehouse, job
        queue and data directory."""
        with self.session() as s:  # type: ignore[attr-defined]
            subject = gather(s, customer_id, emails, phones)
        return {"subject": subject.describe(), **search(self, subject).as_dict()}

    def privacy_erase(self, customer_id: str, mode: str = "delete", emails: list[str] | None = None,
                      phones: list[str] | None = None, actor: str = "system", ip: str | None = None
                      ) -> dict[str, Any]:
        """Erase the customer (`delete` every row, or `anonymise`: scores kept under a random id, text and
        contact data dropped), rebuild the warehouse, then search everything again. `ok` only when nothing is
        left."""
        with self.session() as s:  # type: ignore[attr-defined]
            subject = gather(s, customer_id, emails, phones)
        report = eraser.erase(self, subject, mode)
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            audit.record(s, actor, "privacy.erase", self.customer_ref(customer_id),
                         {"mode": mode, "ok": report.ok, "rows": sum(report.rows.values()),
                          "left": report.left.total}, ip=ip)
        return {"subject": subject.describe(), **report.as_dict()}
