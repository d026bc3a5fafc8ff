"""``analyze_batch``: the one entry point the text pipeline calls.

Order of work, per batch: language (one batched py3langid product) -> PII masking -> one tokenisation of the
*masked* text per comment (so a masked name never becomes a keyword or a topic) -> lexicon clause scores, topics
and aspects from the same tokens -> the learned model, batched, where one is given -> keywords over the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from momenti.engines.text.aspects import aspects_of_doc
from momenti.engines.text.keywords import keywords_of_docs
from momenti.engines.text.language import detect
from momenti.engines.text.pii import mask_many
from momenti.engines.text.tiers import TieredSentiment
from momenti.engines.text.tokens import doc
from momenti.engines.text.topics import Taxonomy

COLUMNS = ["language", "masked_text", "pii_kinds", "sentiment", "sentiment_score", "sentiment_confidence",
           "sentiment_source", "topics", "aspects", "keywords"]
_VALID = ("it", "en", "other")


def analyze_batch(texts: Sequence[str], langs: Sequence[str | None] | None = None, *, sector: str = "bank",
                  taxonomy: Taxonomy | None = None, sentiment: TieredSentiment | None = None,
                  names: Iterable[str] = (), default_lang: str | None = None) -> pd.DataFrame:
    """One row per input text, in order, with the columns of ``COLUMNS``.

    ``langs``: known languages ("it"/"en"/"other"; None = detect) e.g. the survey's language; ``sector`` picks a
    shipped taxonomy unless ``taxonomy`` is given; ``sentiment`` defaults to the lexicon tier; ``names`` are extra
    names to mask (staff, customers); ``default_lang`` ("it"/"en", the workspace's language): the language of
    a short text that shows none of its own (else "other").
    """
    texts = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in texts]
    n = len(texts)
    if langs is not None and len(langs) != n:
        raise ValueError(f"{n} texts but {len(langs)} languages")
    taxonomy = taxonomy or _taxonomy(sector)
    sentiment = sentiment or TieredSentiment(None)
    given = [lg if lg in _VALID else None for lg in (langs or [None] * n)]

    # Identical comments ("ok", "tutto bene", "grazie") are analysed once: every engine is a pure function of
    # (text, language hint), so the rows of duplicates are copies.
    first: dict[tuple[str, str | None], int] = {}
    slot = [first.setdefault((t, lg), len(first)) for t, lg in zip(texts, given, strict=True)]
    uniq = list(first)
    u_texts = [t for t, _ in uniq]
    weight = [0] * len(uniq)
    for k in slot:
        weight[k] += 1

    need = [i for i, (_, lg) in enumerate(uniq) if lg is None]
    language = [lg or "other" for _, lg in uniq]
    for i, lg in zip(need, detect([u_texts[i] for i in need], default_lang) if need else [], strict=True):
        language[i] = lg

    masked = mask_many(u_texts, names)
    masked_text = [m.text for m in masked]
    docs = [doc(t, lg) for t, lg in zip(masked_text, language, strict=True)]
    sents = sentiment.predict_docs(masked_text, docs)
    aspect_rows = []
    topic_rows = []
    for d, (s, clause_raw) in zip(docs, sents, strict=True):
        asp = aspects_of_doc(d, taxonomy, clause_raw, s.score)
        topic_rows.append([a[0] for a in asp])
        aspect_rows.append([{"topic": t, "sentiment": lab, "score": sc} for t, lab, sc in asp])
    keywords = keywords_of_docs(docs, weights=weight)
    pii = [sorted({k for k, _, _ in m.found}) for m in masked]
    return pd.DataFrame({
        "language": [language[k] for k in slot],
        "masked_text": [masked_text[k] for k in slot],
        "pii_kinds": [list(pii[k]) for k in slot],
        "sentiment": [sents[k][0].label for k in slot],
        "sentiment_score": [float(sents[k][0].score) for k in slot],
        "sentiment_confidence": [float(sents[k][0].confidence) for k in slot],
        "sentiment_source": [sents[k][0].source for k in slot],
        "topics": [list(topic_rows[k]) for k in slot],
        "aspects": [[dict(a) for a in aspect_rows[k]] for k in slot],
        "keywords": [list(keywords[k]) for k in slot],
    }, columns=COLUMNS)


_TAXONOMIES: dict[str, Taxonomy] = {}


def _taxonomy(sector: str) -> Taxonomy:
    """Shipped taxonomies are parsed once per process (a user path is re-read: the user may have edited it)."""
    from momenti.engines.text.topics import SECTORS

    if sector not in SECTORS:
        return Taxonomy.load(sector)
    if sector not in _TAXONOMIES:
        _TAXONOMIES[sector] = Taxonomy.load(sector)
    return _TAXONOMIES[sector]
