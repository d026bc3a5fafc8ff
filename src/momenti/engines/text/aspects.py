"""Aspect sentiment: the sentiment of each topic where it is mentioned, clause by clause.

A comment is split into clauses (punctuation, "ma"/"però"/"but"/"however", "anche se"/"although", and "e"/"and"
between two clauses of three or more words: see ``tokens.py``). Each clause gets the lexicon's score and the
topics it mentions; a topic mentioned in several clauses gets the mean of their scores. A clause without any
sentiment word inherits the score of the whole comment (the customer's overall tone), so "ho chiamato per il
bonifico. Pessimo servizio" gives the transfer topic the comment's negative tone.

    "operatore gentilissimo ma ho aspettato 40 minuti" -> [("cortesia", "positive", +), ("attesa", "negative", -)]
"""

from __future__ import annotations

from momenti.engines.text.sentiment import label_of, lexicon_from_doc, squash
from momenti.engines.text.tokens import Doc, doc
from momenti.engines.text.topics import Taxonomy


def aspects_of_doc(d: Doc, taxonomy: Taxonomy, clause_raw: list[float], overall: float
                   ) -> list[tuple[str, str, float]]:
    """(topic, label, score) per topic mentioned in ``d``, in taxonomy order."""
    per_clause = taxonomy.match_doc(d)
    sums: dict[str, list[float]] = {}
    for topics, raw in zip(per_clause, clause_raw, strict=True):
        if not topics:
            continue
        s = squash(raw) if raw != 0.0 else overall
        for t in topics:
            sums.setdefault(t, []).append(s)
    out = []
    for key in taxonomy.keys:
        if key in sums:
            v = sum(sums[key]) / len(sums[key])
            out.append((key, label_of(v), round(v, 4)))
    return out


def aspects(text: str, lang: str, taxonomy: Taxonomy) -> list[tuple[str, str, float]]:
    """Sentiment per topic mention within one comment."""
    d = doc(text or "", lang)
    sent, clause_raw = lexicon_from_doc(d)
    return aspects_of_doc(d, taxonomy, clause_raw, sent.score)
