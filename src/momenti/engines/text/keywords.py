"""Keywords of each text in a batch: its most specific content lemmas.

Per text, content lemmas (not stopwords, 3+ letters) ranked by tf x idf where idf is measured on the batch itself
(log((1 + N) / (1 + df)) + 1): a word every comment uses ("banca") ranks below one few use ("mutuo"). This is
cheap enough for every comment; YAKE, which reads each text's context windows, is used for the labels of discovered
topics (``discovery.py``), where it runs once per topic rather than once per comment.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

from momenti.engines.text.tokens import Doc


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Italian and English stopwords shipped with the package (function words, auxiliaries, fillers)."""
    out: set[str] = set()
    for lang in ("it", "en"):
        text = resources.files("momenti.engines.text").joinpath(f"lexicons/stopwords_{lang}.txt").read_text("utf-8")
        out.update(w for line in text.splitlines() if not line.startswith("#") for w in line.split())
    return frozenset(out)


def content_lemmas(d: Doc, stop: frozenset[str]) -> list[str]:
    return [lm for c in d.clauses for lm in c.lemmas
            if len(lm) > 2 and lm not in stop and lm.isalpha() and lm != "<num>"]


def keywords_of_docs(docs: Sequence[Doc], k: int = 3, weights: Sequence[int] | None = None) -> list[list[str]]:
    """Top ``k`` keywords per doc; ``weights`` = how many texts each doc stands for (deduplicated batches)."""
    stop = stopwords()
    contents = [content_lemmas(d, stop) for d in docs]
    df: Counter[str] = Counter()
    if weights is None:
        for c in contents:
            df.update(set(c))
        n = len(docs)
    else:
        for c, w in zip(contents, weights, strict=True):
            for term in set(c):
                df[term] += w
        n = sum(weights)
    idf = {w: math.log((1 + n) / (1 + f)) + 1.0 for w, f in df.items()}
    out = []
    for c in contents:
        if not c:
            out.append([])
            continue
        tf = Counter(c)
        ranked = sorted(tf, key=lambda w: -tf[w] * idf[w])  # stable: ties keep first-occurrence order (Counter)
        out.append(ranked[:k])
    return out
