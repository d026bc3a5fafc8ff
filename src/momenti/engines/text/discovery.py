"""Discovery of topics the taxonomy does not know yet: NMF on TF-IDF of lemmas.

1. each text -> its content lemmas (stopwords, numbers and masked PII dropped) plus their bigrams;
2. TF-IDF (sublinear tf, terms in >= 2 texts and <= 50 % of them), rows L2-normalised;
3. NMF with ``n_topics`` components (nndsvda init, seeded: the same texts give the same topics);
4. each text belongs to the component with its largest weight (texts with no weight belong to none);
5. a topic is labelled by its top terms (largest H weights) and by YAKE keywords extracted from its most typical
   texts (largest W weights), in the language most of its texts are written in.
A user who recognises a topic promotes it into the taxonomy with ``Taxonomy.promote``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.engines.text.keywords import content_lemmas, stopwords
from momenti.engines.text.pii import PLACEHOLDER
from momenti.engines.text.sentiment import fill_langs
from momenti.engines.text.tokens import doc

_TOP_TERMS = 8
_TYPICAL = 40  # texts fed to YAKE per topic


def _terms(lemmas: list[str]) -> list[str]:
    return lemmas + [f"{a} {b}" for a, b in zip(lemmas, lemmas[1:], strict=False) if a != b]


def _identity(x: list[str]) -> list[str]:
    return x


def discover(texts: Sequence[str], langs: Sequence[str | None] | None = None, n_topics: int = 8,
             seed: int = 0) -> pd.DataFrame:
    """Columns: topic (0..), label, size, share, top_terms, keywords, examples (row positions of typical texts)."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["" if t is None else str(t) for t in texts]
    if n_topics < 1:
        raise InputError("n_topics must be at least 1")
    langs = fill_langs(texts, langs)
    stop = stopwords()
    docs = [_terms(content_lemmas(doc(t, lg), stop)) for t, lg in zip(texts, langs, strict=True)]
    usable = sum(1 for d in docs if d)
    if usable < max(10, 2 * n_topics):
        raise InputError(f"topic discovery needs at least {max(10, 2 * n_topics)} texts with content words; "
                         f"got {usable}")
    vec = TfidfVectorizer(analyzer=_identity, min_df=2, max_df=0.5, sublinear_tf=True)
    try:
        x = vec.fit_transform(docs)
    except ValueError as e:  # every term pruned
        raise InputError(f"topic discovery found no shared vocabulary: {e}") from e
    k = min(n_topics, x.shape[1], x.shape[0])
    nmf = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=500)
    w = nmf.fit_transform(x)
    h = nmf.components_
    vocab = np.asarray(vec.get_feature_names_out())
    assign = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
    rows = []
    for t in range(k):
        members = np.flatnonzero(assign == t)
        top = [str(v) for v in vocab[np.argsort(-h[t])[:_TOP_TERMS]]]
        typical = members[np.argsort(-w[members, t])][:_TYPICAL] if len(members) else members
        lang = Counter(langs[i] for i in typical).most_common(1)[0][0] if len(typical) else "en"
        rows.append({
            "topic": t,
            "label": " / ".join(top[:3]),
            "size": int(len(members)),
            "share": round(len(members) / len(texts), 4),
            "top_terms": top,
            "keywords": _yake([texts[i] for i in typical], lang),
            "examples": [int(i) for i in typical[:3]],
        })
    out = pd.DataFrame(rows, columns=["topic", "label", "size", "share", "top_terms", "keywords", "examples"])
    return out.sort_values(["size", "topic"], ascending=[False, True], ignore_index=True)


# What masking leaves in a text: our placeholders ([EMAIL], [NAME], ...) and the XXXX runs of data masked
# elsewhere (e.g. the CFPB narratives). Neither is a keyword of anything.
_MASKS = re.compile("|".join(re.escape(p) for p in PLACEHOLDER.values()) + r"|\bX{2,}\b")


def _yake(texts: list[str], lang: str, top: int = 5) -> list[str]:
    """YAKE keywords of a topic's typical texts (statistical, offline, no model); lower-case, deduplicated."""
    if not texts:
        return []
    import yake

    stop = stopwords()
    extractor = yake.KeywordExtractor(lan=lang if lang in ("it", "en") else "en", n=2, top=top * 3, dedup_lim=0.7)
    joined = "\n".join(_MASKS.sub(" ", t) for t in texts)
    out: list[str] = []
    for kw, _score in extractor.extract_keywords(joined[:50_000]):
        kw = kw.lower().strip()
        if kw in out or all(p in stop or not p.isalpha() for p in kw.split()):
            continue
        out.append(kw)
        if len(out) == top:
            break
    return out
