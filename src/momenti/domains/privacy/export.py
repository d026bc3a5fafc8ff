"""A customer's data, all of it, in one archive: `customer.json` (every table's rows) and one CSV per table
(formula-safe), plus `README.txt` saying what each file holds. The rows come from the store, the truth: the
warehouse is a replica of the same rows. Text analysis results come with their masked text; an encrypted
original (MOMENTI_TEXT_KEEP_ORIGINAL) is exported decrypted, since it is the customer's own words.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.frames import csv_text
from momenti.domains.privacy.tables import CUSTOMER_ROWS

SKIP_COLUMNS = {"text_results": {"original_enc"}, "survey_sessions": {"token"}, "invitations": {"link_token"}}


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def collect(s: Session, customer_id: str, decrypt: Any = None) -> dict[str, list[dict[str, Any]]]:
    """table -> the customer's rows (dicts), every table of `CUSTOMER_ROWS` (empty ones included)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table, where in CUSTOMER_ROWS.items():
        result = s.execute(text(f"SELECT * FROM {table} WHERE {where}"), {"cid": customer_id})
        cols = list(result.keys())
        rows = []
        for r in result:
            row = {c: _plain(v) for c, v in zip(cols, r, strict=True) if c not in SKIP_COLUMNS.get(table, ())}
            if table == "text_results" and decrypt is not None and r._mapping.get("original_enc"):
                row["original_text"] = decrypt(r._mapping["original_enc"])
            rows.append(row)
        out[table] = rows
    return out


README = """Everything momenti holds about customer {cid}, exported {at} UTC.

customer.json      every table's rows, one key per table
<table>.csv        the same rows, one file per table that has any

responses/answers  survey responses and their answers (free text as stored: masked once analysed)
events             interactions (contacts, app events, visits)
feedback           unsolicited feedback (reviews, complaints, posts)
text_results       what the text analysis found in the comments (topics, sentiment, masked text)
invitations        survey invitations; deliveries: every send and its result; contact_skips: not sent, and why
cases              cases opened about the customer; case_entries: their history, notes and contact log
offers             offers proposed and their outcome; customer_notes: staff notes on the customer
outcomes           the relationship's outcome (active / churned); customers: the customer's attributes
link_uses, survey_sessions, unsubscribes, staff_notifications: survey links used, survey progress, opt-outs,
                   staff e-mails about the customer's cases
"""


def archive(s: Session, customer_id: str, decrypt: Any = None) -> tuple[bytes, dict[str, int]]:
    """(the zip's bytes, rows per table)."""
    data = collect(s, customer_id, decrypt)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", README.format(cid=customer_id, at=utcnow().isoformat(timespec="seconds")))
        z.writestr("customer.json", json.dumps({"customer_id": customer_id, "tables": data}, ensure_ascii=False,
                                               indent=1, default=str))
        for table, rows in data.items():
            if rows:
                z.writestr(f"{table}.csv", csv_text(pd.DataFrame(rows)))
    return buf.getvalue(), {t: len(r) for t, r in data.items()}


def write(s: Session, customer_id: str, out: Path, decrypt: Any = None) -> dict[str, int]:
    blob, counts = archive(s, customer_id, decrypt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(blob)
    return counts
