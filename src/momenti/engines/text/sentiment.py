"""Sentiment: a cold-start lexicon, a learned model (``learned.py``), an optional local transformer
(``transformer.py``) and the tiers that pick between them.

Lexicon scoring (per clause, then per text):
    v(token)  = valence of the longest lexicon phrase starting at the token (lemmas), else of the word, else of its
                lemma (Italian "-issimo" superlatives of lexicon adjectives are generated at load, x1.5);
    modifiers = the 3 words before it: intensifiers multiply (molto 1.5, very 1.5), diminishers too (un po' 0.6,
                slightly 0.6); a negator flips it, asymmetrically (a negated positive is x -0.75: "not good" is
                bad; a negated negative x -0.5: "non è male" is only mildly good), unless the lexicon has an
                explicit "non X"/"not X" entry (non funziona = -2.4); capitals x1.3; a negative v x1.5;
    requests  = in a question or a clause with a request word ("please", "vorrei"), courtesy words (thanks, help,
                grazie) count 0 and help asked for counts -0.8 ("Please help!" is a complaint, not praise);
    clause    = sum of its v x (1 + 0.1 x its "!" up to 3);
    text      = sum of clause x weight, weight 2 for a clause opened by "ma"/"but" (one with no sentiment word
                takes the opposite of the clause before), 0.5 for the clause before it and for a concessive clause
                ("anche se", "although");
    score     = S / sqrt(S^2 + 4) in (-1, 1); label by +-NEUTRAL_BAND.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from momenti.engines.text.tokens import Clause, Doc, doc, lemma, superlatives

LABELS = ("negative", "neutral", "positive")
NEUTRAL_BAND = 0.2
_ALPHA = 4.0  # score = S / sqrt(S^2 + ALPHA): one strong word (|v| = 3) gives |score| = 0.83
_WINDOW = 3
_EMOJI_KINDS = frozenset({"face", "heart", "hearts", "hand", "hands", "thumbs"})
_VADER_SCALE = 0.85  # VADER's -4..4 onto this lexicon's -3.5..3.5
_NEG_WEIGHT = 1.5  # negative words weigh more (SO-CAL's negativity bias: praise is said plainly, blame often softly)
_PLEA = -0.8  # "help" asked for in a request ("Can you help?", "aiutatemi per favore")


@dataclass(slots=True)
class Sentiment:
    label: str  # negative | neutral | positive
    score: float  # -1..1
    confidence: float  # 0..1
    source: str  # lexicon | model | transformer


@dataclass(slots=True)
class _Lang:
    words: dict[str, float]  # single words and lemmas
    phrases: dict[tuple[str, ...], float]  # lemma sequences of 2-3 words
    negated: dict[str, float]  # "non X": valence of a negated X
    negators: frozenset[str]
    intens: dict[str, float]
    dim_bigrams: dict[tuple[str, str], float]
    max_phrase: int
    phrase_starts: frozenset[str]  # first lemmas of phrases: most tokens skip the phrase lookup
    requests: frozenset[str]  # words that make a clause a request ("please", "vorrei")
    request_pairs: frozenset[tuple[str, str]]  # two-word request openers ("let me" know, "mi aiutate")
    courtesy: frozenset[str]  # politeness and help lemmas: manners, not praise, in a request
    pleas: frozenset[str]  # help asked for: a problem (-0.8) in a request


def _read_tsv(name: str) -> list[tuple[str, float]]:
    text = resources.files("momenti.engines.text").joinpath(f"lexicons/{name}").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, val = line.rsplit("\t", 1)
        out.append((term.strip().lower(), float(val)))
    return out


@lru_cache(maxsize=1)
def _vader_lexicon() -> dict[str, float]:
    """VADER's English lexicon (vaderSentiment, MIT: ~7,500 words rated -4..4 by ten raters each, shipped in its
    wheel), words only (its emoticons are left out), on this lexicon's scale."""
    try:
        text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        return {}
    out = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isalpha():
            out[parts[0].lower()] = float(parts[1]) * _VADER_SCALE
    return out


def _vader_words(modifiers: frozenset[str]) -> list[tuple[str, float]]:
    """VADER's words after the project's own entries (which win: they are tuned to customer service), without
    the words this lexicon treats as modifiers ("no", "very")."""
    return [(w, v) for w, v in _vader_lexicon().items() if w not in modifiers]


@lru_cache(maxsize=1)
def _vader_emoji() -> list[tuple[str, float]]:
    """Emoji beyond the shipped ones: VADER's emoji file names each emoji in English ("loudly crying face"); a
    face, heart or hand whose name has rated words gets their sum (clipped to +-2.5), in every language."""
    try:
        text = resources.files("vaderSentiment").joinpath("emoji_utf8_lexicon.txt").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        return []
    words = _vader_lexicon()
    out = []
    for line in text.splitlines():
        emoji, _, name = line.partition("\t")
        parts = name.lower().replace("-", " ").split()
        if not emoji or not _EMOJI_KINDS.intersection(parts):
            continue
        v = sum(words.get(w, 0.0) for w in parts)
        if v:
            out.append((emoji, max(-2.5, min(2.5, v))))
    return out


@lru_cache(maxsize=4)
def _lexicon(lang: str) -> _Lang:
    """Lexicon of ``lang`` ("it", "en"; anything else: both merged), words lemmatised with the tokeniser's lemmas."""
    modifiers = resources.files("momenti.engines.text").joinpath("lexicons/modifiers.yaml")
    mods = yaml.safe_load(modifiers.read_text("utf-8"))
    langs = [lang] if lang in ("it", "en") else ["it", "en"]
    neg_word = {"it": "non", "en": "not"}
    words: dict[str, float] = {}
    phrases: dict[tuple[str, ...], float] = {}
    negated: dict[str, float] = {}
    negators: set[str] = set()
    intens: dict[str, float] = {}
    dims: dict[tuple[str, str], float] = {}
    requests: set[str] = set()
    request_pairs: set[tuple[str, str]] = set()
    courtesy: set[str] = set()
    pleas: set[str] = set()
    for lg in langs:
        entries = _read_tsv(f"sentiment_{lg}.tsv") + _read_tsv("sentiment_emoji.tsv") + _vader_emoji()
        if lg == "en":
            entries += _vader_words(frozenset(mods["en"]["negators"]) | set(mods["en"]["intensifiers"]))
        for term, val in entries:
            parts = term.replace("'", " ").split()
            if len(parts) == 1:
                words.setdefault(parts[0], val)
                words.setdefault(lemma(parts[0], lg), val)
                if lg == "it":  # absolute superlatives: gentile -> gentilissimo x1.5 (simplemma keeps them as is)
                    for form in superlatives(parts[0]):
                        words.setdefault(form, max(-3.5, min(3.5, val * 1.5)))
                    for form in _inflections(parts[0]):  # simplemma misses some: stupenda, perfetta, deluse
                        words.setdefault(form, val)
            elif len(parts) == 2 and parts[0] == neg_word[lg]:
                negated[parts[1]] = val
                negated[lemma(parts[1], lg)] = val
            else:
                phrases[tuple(lemma(p, lg) for p in parts)] = val
        m = mods[lg]
        negators.update(m["negators"])
        for w, f in m["intensifiers"].items():
            intens[w] = float(f)
        for w, f in m["diminishers"].items():
            p = w.replace("'", " ").split()
            if len(p) == 1:
                intens[p[0]] = float(f)
            else:
                dims[(p[0], p[1])] = float(f)
        for w in m.get("requests", []):
            p = str(w).split()
            if len(p) == 1:
                requests.add(p[0])
            else:
                request_pairs.add((p[0], p[1]))
        courtesy.update(lemma(str(w), lg) for w in m.get("courtesy", []))
        courtesy.update(str(w) for w in m.get("courtesy", []))
        pleas.update(lemma(str(w), lg) for w in m.get("pleas", []))
        pleas.update(str(w) for w in m.get("pleas", []))
    # modifiers are not sentiment words themselves ("super" is both: as a modifier it only amplifies)
    max_phrase = max((len(p) for p in phrases), default=1)
    starts = frozenset(p[0] for p in phrases)
    return _Lang(words, phrases, negated, frozenset(negators), intens, dims, max_phrase, starts, frozenset(requests),
                 frozenset(request_pairs), frozenset(courtesy), frozenset(pleas))


def _inflections(word: str) -> list[str]:
    """Gender and number of an Italian adjective written in the masculine singular: stupendo -> stupenda,
    stupendi, stupende; gentile -> gentili. Applied to lexicon entries only, and never over another entry."""
    if len(word) < 4 or " " in word or not word.isalpha():
        return []
    if word.endswith("o"):
        return [word[:-1] + e for e in "aie"]
    if word.endswith("e"):
        return [word[:-1] + "i"]
    return []


def _is_request(c: Clause, lex: _Lang) -> bool:
    """A question, or a clause with a request word or opener: its courtesy words are manners, not praise."""
    if c.question:
        return True
    ws = c.words
    req, pairs = lex.requests, lex.request_pairs
    return any(w in req for w in ws) or any((a, b) in pairs for a, b in zip(ws, ws[1:], strict=False))


def clause_scores(d: Doc) -> tuple[list[float], int]:
    """Raw score of each clause of ``d`` and the number of sentiment words found."""
    lex = _lexicon(d.lang if d.lang in ("it", "en") else "other")
    words_v, phrases, negated_v = lex.words, lex.phrases, lex.negated
    negators, intens, dims, starts = lex.negators, lex.intens, lex.dim_bigrams, lex.phrase_starts
    scores: list[float] = []
    hits = 0
    for c in d.clauses:
        ws, lms = c.words, c.lemmas
        n = len(ws)
        total = 0.0
        i = 0
        request = _is_request(c, lex)
        while i < n:
            w = ws[i]
            v = None
            span = 1
            if lms[i] in starts:
                for k in range(min(lex.max_phrase, n - i), 1, -1):
                    pv = phrases.get(tuple(lms[i:i + k]))
                    if pv is not None:
                        v, span = pv, k
                        break
            if v is None:
                v = words_v.get(w)
                if v is None:
                    v = words_v.get(lms[i])
            if v is None or w in intens and i + 1 < n and (ws[i + 1] in words_v or lms[i + 1] in words_v):
                i += 1  # not a sentiment word, or a modifier of the next one ("super gentile")
                continue
            hits += 1
            mult = 1.0
            neg = False
            for j in range(i - 1, max(-1, i - 1 - _WINDOW), -1):
                p = ws[j]
                if p in negators:
                    neg = True
                elif p in intens:
                    mult *= intens[p]
                elif j > 0 and (ws[j - 1], p) in dims:
                    mult *= dims[(ws[j - 1], p)]
            if c.caps[i]:
                mult *= 1.3
            if neg:
                nv = negated_v.get(lms[i]) if span == 1 else None
                if nv is None:
                    nv = negated_v.get(w) if span == 1 else None
                v = nv if nv is not None else (v * -0.75 if v > 0 else v * -0.5)
            elif request and v > 0 and span == 1 and (lms[i] in lex.courtesy or w in lex.courtesy):
                # "Please help!", "would appreciate a call back": asking is not praising, and asking for help
                # says something is wrong
                v = _PLEA if (lms[i] in lex.pleas or w in lex.pleas) else 0.0
            total += v * mult * (_NEG_WEIGHT if v < 0 else 1.0)
            i += span
        if c.exclaim:
            total *= 1.0 + 0.1 * min(c.exclaim, 3)
        scores.append(total)
    return scores, hits


def combine(d: Doc, scores: list[float]) -> float:
    """Weighted sum of clause scores (contrast and concession rules), squashed into (-1, 1)."""
    total = 0.0
    cls = d.clauses
    for k, s in enumerate(scores):
        w = 1.0
        kind = cls[k].kind
        if kind == "contrast":
            w = 2.0
            if s == 0.0 and k > 0 and not cls[k].question:
                # "Thanks for the info but have been trying for over 24hrs": "but" announces the opposite of
                # what came before even when what follows has no sentiment word of its own
                s = -scores[k - 1]
        elif kind == "concessive":
            w = 0.5
        if k + 1 < len(cls) and cls[k + 1].kind == "contrast":
            w *= 0.5
        total += w * s
    return squash(total)


def squash(raw: float) -> float:
    return raw / math.sqrt(raw * raw + _ALPHA)


def label_of(score: float) -> str:
    return "positive" if score >= NEUTRAL_BAND else "negative" if score <= -NEUTRAL_BAND else "neutral"


def lexicon_from_doc(d: Doc) -> tuple[Sentiment, list[float]]:
    """Sentiment of a tokenised text plus its clause scores (aspects reuse them)."""
    scores, hits = clause_scores(d)
    score = combine(d, scores)
    label = label_of(score)
    if hits == 0:
        conf = 0.5  # no evidence: "neutral" is a default, not a finding
    elif label == "neutral":
        conf = 0.5 + 0.5 * (1 - abs(score) / NEUTRAL_BAND)
    else:
        conf = 0.5 + 0.5 * min(1.0, (abs(score) - NEUTRAL_BAND) / (0.8 - NEUTRAL_BAND))
    return Sentiment(label, round(score, 4), round(conf, 4), "lexicon"), scores


class LexiconSentiment:
    """The cold-start tier: the project's it/en lexicon with negation, modifiers, emoji and contrast rules."""

    def predict(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Sentiment]:
        langs = fill_langs(texts, langs)
        return [lexicon_from_doc(doc(t or "", lg))[0] for t, lg in zip(texts, langs, strict=True)]

    def predict_docs(self, docs: Sequence[Doc]) -> list[tuple[Sentiment, list[float]]]:
        return [lexicon_from_doc(d) for d in docs]


def fill_langs(texts: Sequence[str], langs: Sequence[str | None] | None) -> list[str]:
    """The languages given, with the missing ones (all when None) detected: only those texts are detected."""
    if langs is None:
        langs = [None] * len(texts)
    elif len(langs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(langs)} languages")
    out = [str(lg) if lg is not None else None for lg in langs]
    need = [i for i, lg in enumerate(out) if lg is None]
    if need:
        from momenti.engines.text.language import detect

        for i, lg in zip(need, detect([texts[i] for i in need]), strict=True):
            out[i] = lg
    return out  # type: ignore[return-value]
