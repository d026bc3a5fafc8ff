"""Language of each text: "it", "en" or "other".

py3langid (BSD, its model ships inside the wheel: nothing is downloaded) is restricted to a candidate set: Italian,
English and the languages customers of an Italian company also write in, so that a French or Romanian comment
comes out "other" instead of being forced into it/en. Scoring is batched: the byte-n-gram walk is per text, the
naive-Bayes product is one sparse matrix product for the whole batch.

Very short texts ("ok", "top", "grazie mille") carry too few n-grams for a character model, so below
``SHORT_CHARS`` letters, or when the model is unsure, a vote of Italian and English function/customer-service words
decides; a short text with letters but no evidence ("Sei bravissima") gets the caller's ``default`` (the
workspace's language, MOMENTI_TEXT_LANGUAGE) when one is given, else "other"; one with no letters ("👍") is "other".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

CANDIDATES = ("it", "en", "fr", "de", "es", "pt", "nl", "ro", "pl", "sq", "ru", "uk", "ar", "zh")
SHORT_CHARS = 16
MIN_PROB = 0.7

_IT_HINTS = frozenset(
    "il lo la gli le un una di del della dei delle che non è e ho ha hanno sono per con mi ci si ma molto tutto "
    "anche come più sempre mai grazie ottimo ottima pessimo pessima bene male buono brava bravo gentile gentilissimo "
    "servizio banca carta conto operatore attesa app ancora niente nessuno perché quando troppo poco ok ciao "
    "veloce lento lenta consiglio consiglierei soddisfatto soddisfatta schifo vergogna tutto sei siete siamo "
    "bravissima bravissimo bravissimi grande grandi bello bella bellissimo bellissima complimenti evviva "
    "davvero proprio questo questa quello quella".split()
)
_EN_HINTS = frozenset(
    "the a an of to and is was were are have has had not no it i my me we you they this that for with but very "
    "all also more always never thanks thank great good bad terrible awful nice kind rude service bank card "
    "account staff waiting app still nothing nobody because when too little ok hi fast slow recommend happy "
    "satisfied worst best love hate you your are so please help amazing awesome what why".split()
)
_WORDS = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _identifier():  # noqa: ANN202 - py3langid's class, imported lazily (its model takes ~0.3 s to load)
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages([c for c in CANDIDATES if c in ident.labels])
    return ident


def _probs(texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(n, k) probabilities over the candidate languages, one sparse product for the batch."""
    from py3langid.langid import visit_counts

    ident = _identifier()
    rows, cols, vals, lengths = [], [], [], []
    for i, t in enumerate(texts):
        if t.isupper():
            t = t.lower()
        b = unicodedata.normalize("NFC", t).encode("utf8", errors="surrogatepass")
        lengths.append(len(b))
        counts = visit_counts(ident.tk_nextmove, ident._rowbase, ident.tk_output, b)
        if counts:
            rows.extend([i] * len(counts))
            cols.extend(counts.keys())
            vals.extend(counts.values())
    n, nfeat = len(texts), ident.nb_ptc.shape[0]
    x = sparse.csr_matrix((np.log1p(np.asarray(vals, dtype=np.float32)), (rows, cols)), shape=(n, nfeat))
    scores = np.asarray(x @ ident.nb_ptc) + ident.nb_pc
    scores *= (1.0 / np.sqrt(np.maximum(np.asarray(lengths, dtype=np.float32), 1.0)))[:, None]
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores, list(ident.nb_classes)


def _vote(text: str) -> str | None:
    """Italian vs English by hint words; None when there is no evidence or a tie."""
    it = en = 0
    for w in _WORDS.findall(text.lower()):
        it += w in _IT_HINTS
        en += w in _EN_HINTS
    if it > en:
        return "it"
    if en > it:
        return "en"
    return None


def detect(texts: Sequence[str], default: str | None = None) -> list[str]:
    """"it" | "en" | "other" per text, in order; ``default`` ("it"/"en"): what a short text with no evidence
    of its language is taken to be (a customer of this company writing a few words writes its language)."""
    texts = ["" if t is None else str(t) for t in texts]
    if not texts:
        return []
    try:
        probs, labels = _probs(texts)
    except (AttributeError, TypeError):  # py3langid internals changed: fall back to its public per-text API
        ident = _identifier()
        labels = list(dict.fromkeys(ident.nb_classes))
        probs = np.zeros((len(texts), len(labels)))
        for i, t in enumerate(texts):
            for lang, p in ident.rank(t):
                probs[i, labels.index(lang)] = p
    best = probs.argmax(axis=1)
    conf = probs[np.arange(len(texts)), best]
    out: list[str] = []
    for i, t in enumerate(texts):
        lang = labels[best[i]]
        letters = sum(ch.isalpha() for ch in t) if len(t) < 64 else 64
        if letters < SHORT_CHARS:
            out.append(_vote(t) or (default if default in ("it", "en") and letters else "other"))
            continue
        if conf[i] < MIN_PROB or math.isnan(conf[i]):
            # unsure: the word vote may pick it/en, but only if the model gives that language some weight
            voted = _vote(t)
            if voted is not None and probs[i, labels.index(voted)] >= 0.15:
                out.append(voted)
                continue
        out.append(lang if lang in ("it", "en") else "other")
    return out
