"""Incremental text analysis: every free-text answer and feedback item not yet analysed (or analysed by another
analyzer version) goes through `momenti.engines.text.analyze.analyze_batch` in batches; each batch's results replace the
item's previous result in the store's `text_results` in one transaction, with a fresh `seq` so the next warehouse
sync carries them over (analysis/text_facts.py).

The analyzer version names everything that changes a result: the engine, the taxonomy (a hash of its file) and
the sentiment model in use (the newest trained one, or the lexicon). Training a model or promoting a topic
therefore makes the next run re-analyse everything, and an unchanged analyzer finds nothing to do.

Pending items are found with a keyset walk over the answers' clustered key (response_id, question_id) and the
feedback id, each page a bounded query; the store never sends every text at once.

The original text (MOMENTI_TEXT_KEEP_ORIGINAL): analysis reads the original, then the same transaction that
writes the result replaces the store's plain text (feedback.text, answers.value_text) with the masked text. By
default the original is thereby dropped, and a later re-analysis (another analyzer version) reads the masked
text. With the setting on, the original is kept Fernet-encrypted in `text_results.original_enc` (a key derived
from MOMENTI_SECRET_KEY, see `original_cipher`) and re-analysis decrypts and reads it. The warehouse's copies
are masked at the next text sync (analysis/text_facts.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from momenti.core.errors import InputError
from momenti.insights.text.kept import decrypt_original, original_cipher, taxonomy_source
from momenti.store.raw import RawConnection
from momenti.warehouse.connection import sql_literal

if TYPE_CHECKING:
    from momenti.core.config import Settings

Progress = Callable[[str, int, int], None]
BATCH = 5_000
# Raise when the pipeline's own handling of results changes. 2: the original-text policy (items analysed by 1
# still have their original in the plain columns; re-analysing them applies the policy).
ENGINE_VERSION = "2"
# HKDF "info" of the key that encrypts kept originals: a key of its own, derived from MOMENTI_SECRET_KEY (which
# also signs survey links), so neither use can stand in for the other.

PENDING_ANSWERS = """
SELECT a.response_id AS item_id, a.question_id, a.value_text AS text, coalesce(r.language, '') AS declared,
       coalesce(t.id, 0) AS old_id, t.original_enc, t.pii_kinds AS old_pii
FROM answers a
JOIN questions q ON q.id = a.question_id
JOIN responses r ON r.id = a.response_id
LEFT JOIN text_results t ON t.kind = 'answer' AND t.item_id = a.response_id AND t.question_id = a.question_id
WHERE q.kind = 'text' AND a.question_id IN ({questions}) AND a.value_text IS NOT NULL AND a.value_text <> ''
  AND a.response_id >= {after_item} AND (a.response_id > {after_item} OR a.question_id > {after_q})
  AND (t.id IS NULL OR t.analyzer_version <> {version} OR {force})
ORDER BY a.response_id, a.question_id
LIMIT {limit}
"""

PENDING_FEEDBACK = """
SELECT f.id AS item_id, 0 AS question_id, f.text, coalesce(f.language, '') AS declared, coalesce(t.id, 0) AS old_id,
       t.original_enc, t.pii_kinds AS old_pii
FROM feedback f
LEFT JOIN text_results t ON t.kind = 'feedback' AND t.item_id = f.id AND t.question_id = 0
WHERE f.id > {after_item} AND f.text <> ''
  AND (t.id IS NULL OR t.analyzer_version <> {version} OR {force})
ORDER BY f.id
LIMIT {limit}
"""


@dataclass
class Analyzer:
    """What analyses a batch: the taxonomy, the tiered sentiment (newest model or lexicon) and their version."""

    sector: str
    taxonomy: object | None  # momenti.engines.text.topics.Taxonomy; None: the shipped sector's
    sentiment: object | None  # momenti.engines.text.sentiment.TieredSentiment
    version: str
    model: str | None = None
    cipher: object | None = None  # cryptography.fernet.Fernet: originals are kept (encrypted); None: dropped
    language: str | None = None  # the workspace's language: short texts with no sign of their own get it

    def analyze(self, texts: list[str], langs: list[str | None]):  # noqa: ANN201 - a DataFrame
        from momenti.engines.text.analyze import analyze_batch

        return analyze_batch(texts, langs, sector=self.sector, taxonomy=self.taxonomy, sentiment=self.sentiment,
                             default_lang=self.language)


# Analysing these loads what a process's first batch would otherwise wait for (see warm_up).
WARM_TEXTS = ("Il servizio in filiale è stato ottimo, grazie.", "The app is slow, but the staff were helpful.")


def has_text(store: RawConnection) -> bool:
    """Whether the store has anything the text pipeline reads: a text question or a feedback item."""
    return bool(store.scalar("SELECT 1 FROM questions WHERE kind = 'text' LIMIT 1")
                or store.scalar("SELECT 1 FROM feedback LIMIT 1"))


def warm_up(analyzer: Analyzer) -> None:
    """Load the engines a process's first analysis waits for: the language identifier, the lemmatiser's Italian
    and English dictionaries and the taxonomy, 3-6 s on a busy machine. The server does it once in the background
    (in a workspace that has comments: one without pays nothing), so the first comment written to it is masked
    within a second or two, not after that wait."""
    analyzer.analyze(list(WARM_TEXTS), [None] * len(WARM_TEXTS))


def _taxonomy_fingerprint(source: str) -> str:
    """A hash of the taxonomy file in use (shipped with momenti, or the user's)."""
    from importlib import resources

    from momenti.engines.text.topics import SECTORS

    if source in SECTORS:
        data = resources.files("momenti.engines.text").joinpath(f"taxonomies/{source}.yaml").read_bytes()
    else:
        data = Path(source).read_bytes()
    return hashlib.sha256(data).hexdigest()[:10]


def build_analyzer(settings: Settings) -> Analyzer:
    from momenti.engines.text.tiers import TieredSentiment
    from momenti.engines.text.topics import SECTORS, Taxonomy
    from momenti.pipelines.text.models import load_newest

    source = taxonomy_source(settings)
    # A shipped sector's taxonomy is left to the engine, which parses it once per process; a user's file is
    # read each time (it may have been edited).
    taxonomy = None if source in SECTORS else Taxonomy.load(source)
    model, model_id = load_newest(settings)
    sentiment = TieredSentiment(model)  # type: ignore[arg-type]
    engine = getattr(__import__("momenti.engines.text", fromlist=["__version__"]), "__version__", "0")
    sector = source if source in SECTORS else "bank"
    # the workspace's language changes what short texts are read as: it is part of the version
    chosen = (settings.text_language or "").strip().lower()
    if chosen not in ("it", "en", "", "other"):
        raise InputError(f"MOMENTI_TEXT_LANGUAGE={settings.text_language!r}: use it or en (or other: no default, "
                         "short comments with no sign of their language stay 'other')")
    language = chosen if chosen in ("it", "en") else None
    version = (f"{ENGINE_VERSION}.{engine}|tax:{_taxonomy_fingerprint(source)}|lang:{language or 'other'}"
               f"|sent:{model_id or 'lexicon'}")
    cipher = original_cipher(settings) if settings.text_keep_original else None
    return Analyzer(sector, taxonomy, sentiment, version[:100], model_id, cipher, language)


# -- the original text ---------------------------------------------------------------------------------------


def drop_kept_originals(store: RawConnection) -> None:
    """Originals are not kept (any more): erase the encrypted ones left from when they were."""
    if not store.scalar("SELECT 1 FROM text_results WHERE original_enc IS NOT NULL LIMIT 1"):
        return  # the usual case: read without taking the write lock
    with store.transaction():
        store.execute("UPDATE text_results SET original_enc = NULL WHERE original_enc IS NOT NULL")


@dataclass
class AnalyzeReport:
    analysed: dict[str, int] = field(default_factory=lambda: {"answer": 0, "feedback": 0})
    replaced: int = 0
    version: str = ""
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.analysed.values())

    def as_dict(self) -> dict:
        return {"analysed": dict(self.analysed), "total": self.total, "replaced": self.replaced,
                "version": self.version, "seconds": round(self.seconds, 2)}


def _json_list(values: object) -> str:
    return json.dumps(list(values) if values is not None else [], ensure_ascii=False)


def _result_rows(kind: str, pending: pa.Table, out, version: str, now: dt.datetime,  # noqa: ANN001
                 first_seq: int, sqlite: bool, original_enc: list[str | None]) -> pa.Table:
    n = pending.num_rows
    analysed_at = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    return pa.table({
        "kind": pa.array([kind] * n, pa.string()),
        "item_id": pending["item_id"].cast(pa.int64()),
        "question_id": pending["question_id"].cast(pa.int64()),
        "language": pa.array(out["language"].astype(object).tolist(), pa.string()),
        "masked_text": pa.array(out["masked_text"].astype(object).tolist(), pa.string()),
        "pii_kinds": pa.array([_json_list(v) for v in out["pii_kinds"]], pa.string()),
        "sentiment": pa.array(out["sentiment"].astype(object).tolist(), pa.string()),
        "sentiment_score": pa.array(out["sentiment_score"].astype(float).tolist(), pa.float64()),
        "sentiment_confidence": pa.array(out["sentiment_confidence"].astype(float).tolist(), pa.float64()),
        "sentiment_source": pa.array(out["sentiment_source"].astype(object).tolist(), pa.string()),
        "topics": pa.array([_json_list(v) for v in out["topics"]], pa.string()),
        "aspects": pa.array([json.dumps(list(v) if v is not None else [], ensure_ascii=False, default=float)
                             for v in out["aspects"]], pa.string()),
        "keywords": pa.array([_json_list(v) for v in out["keywords"]], pa.string()),
        "analyzer_version": pa.array([version] * n, pa.string()),
        "analysed_at": pa.array([analysed_at] * n, pa.string() if sqlite else pa.timestamp("us")),
        "seq": pa.array(range(first_seq, first_seq + n), pa.int64()),
        "original_enc": pa.array(original_enc, pa.string()),
    })


# The analysed items' plain text becomes their masked text (this batch's results: seq first..last), in the
# transaction that writes the results. UPDATE ... FROM: SQLite >= 3.33 and PostgreSQL alike.
MASK_STORE = {
    "feedback": """UPDATE feedback SET text = t.masked_text FROM text_results t
        WHERE t.kind = 'feedback' AND t.seq >= {first} AND t.seq <= {last} AND feedback.id = t.item_id
          AND feedback.text <> t.masked_text""",
    "answer": """UPDATE answers SET value_text = t.masked_text FROM text_results t
        WHERE t.kind = 'answer' AND t.seq >= {first} AND t.seq <= {last} AND answers.response_id = t.item_id
          AND answers.question_id = t.question_id AND answers.value_text <> t.masked_text""",
}


def _write(store: RawConnection, kind: str, pending: pa.Table, out, version: str,  # noqa: ANN001
           original_enc: list[str | None]) -> int:
    """Replace the batch's results and mask the items' plain text in one transaction; returns how many replaced
    an older result. The table is locked meanwhile: the batch's `seq` numbers (what the warehouse sync reads
    past) are taken from max(seq), so two concurrent analyses must not both read the same maximum."""
    with store.transaction(lock="text_results"):
        first_seq = int(store.scalar("SELECT coalesce(max(seq), 0) FROM text_results") or 0) + 1
        old = [int(v) for v in pending["old_id"].to_pylist() if v]
        for i in range(0, len(old), 1000):
            store.execute(f"DELETE FROM text_results WHERE id IN ({', '.join(map(str, old[i:i + 1000]))})")
        rows = _result_rows(kind, pending, out, version, dt.datetime.now(dt.UTC).replace(tzinfo=None), first_seq,
                            store.sqlite, original_enc)
        store.ingest("text_results", rows)
        store.execute(MASK_STORE[kind].format(first=first_seq, last=first_seq + rows.num_rows - 1))
    return len(old)


def _texts(pending: pa.Table, cipher) -> tuple[list[str], list[bool]]:  # noqa: ANN001
    """The text to analyse per item: the kept original when there is one (decrypted), else the store's text
    (the original the first time; after originals were dropped, the masked text). And whether it is the
    original that was decrypted."""
    plain = [str(t) for t in pending["text"].to_pylist()]
    kept = pending["original_enc"].to_pylist()
    if cipher is None:
        return plain, [False] * len(plain)
    return ([decrypt_original(cipher, k) if k else p for p, k in zip(plain, kept, strict=True)],
            [bool(k) for k in kept])


def _keep_pii_kinds(pending: pa.Table, out, decrypted: list[bool]) -> None:  # noqa: ANN001
    """Re-analysing an item whose original was dropped reads the masked text, where the PII is gone: its
    pii_kinds are those found then, plus any found now."""
    old = pending["old_pii"].to_pylist()
    ids = pending["old_id"].to_pylist()
    kinds = list(out["pii_kinds"])
    for i, (was, old_id, dec) in enumerate(zip(old, ids, decrypted, strict=True)):
        if old_id and was and not dec:
            kinds[i] = sorted({*json.loads(was), *(kinds[i] if kinds[i] is not None else [])})
    out["pii_kinds"] = pd.Series(kinds, index=out.index, dtype=object)


def _encrypt(cipher, texts: list[str], masked: list[str]) -> list[str | None]:  # noqa: ANN001
    """Fernet tokens of the originals to keep (None where originals are dropped, or there was nothing to
    mask: the plain column then holds the original itself)."""
    if cipher is None:
        return [None] * len(texts)
    return [cipher.encrypt(t.encode("utf-8")).decode("ascii") if t != m else None
            for t, m in zip(texts, masked, strict=True)]


def _langs(declared: list[str]) -> list[str | None]:
    # A declared it/en is a strong hint (the survey was in that language); anything else is detected.
    return [d if d in ("it", "en") else None for d in declared]


def analyze_pending(connect: Callable[[], RawConnection], analyzer: Analyzer, questions: list[str],
                    limit: int | None = None, force: bool = False, batch: int = BATCH,
                    progress: Progress | None = None) -> AnalyzeReport:
    """Analyse what is pending (everything with `force`), at most `limit` items, of the free-text `questions`
    (keys) and of the feedback; results go to the store."""
    started = time.perf_counter()
    with connect() as store:
        ids = store.fetch_arrow("SELECT id, key FROM questions WHERE kind = 'text'")
    wanted = set(questions)
    qids = [str(int(i)) for i, k in zip(ids["id"].to_pylist(), ids["key"].to_pylist(), strict=True) if k in wanted]
    in_list = ", ".join(qids) or "-1"
    if analyzer.cipher is None:  # originals are dropped: none stays encrypted from a time they were kept
        with connect() as store:
            drop_kept_originals(store)
    report = AnalyzeReport(version=analyzer.version)
    tell = progress or (lambda *_: None)
    left = limit if limit is not None else float("inf")
    for kind, sql in (("answer", PENDING_ANSWERS), ("feedback", PENDING_FEEDBACK)):
        after_item, after_q = 0, 0
        # No free-text question: no answer to analyse, and no walk over every answer to find that out (the
        # server runs this after each batch of writes).
        while left > 0 and (kind == "feedback" or qids):
            size = int(min(batch, left))
            with connect() as store:
                pending = store.fetch_arrow(sql.format(after_item=after_item, after_q=after_q, limit=size,
                                                       questions=in_list,
                                                       version=sql_literal(analyzer.version),
                                                       force="1 = 1" if force else "1 = 0"))
                if not pending.num_rows:
                    break
                texts, decrypted = _texts(pending, analyzer.cipher)
                out = analyzer.analyze(texts, _langs([str(d) for d in pending["declared"].to_pylist()]))
                _keep_pii_kinds(pending, out, decrypted)
                enc = _encrypt(analyzer.cipher, texts, out["masked_text"].astype(object).tolist())
                report.replaced += _write(store, kind, pending, out, analyzer.version, enc)
            report.analysed[kind] += pending.num_rows
            left -= pending.num_rows
            after_item = int(pending["item_id"][-1].as_py())
            after_q = int(pending["question_id"][-1].as_py())
            tell(f"text {kind}s", report.analysed[kind], 0)
            if pending.num_rows < size:
                break
    report.seconds = time.perf_counter() - started
    return report
