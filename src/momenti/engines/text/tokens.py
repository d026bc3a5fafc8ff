"""Tokenise a comment once into clauses of (word, lemma, caps) tokens, shared by sentiment, topics and aspects.

One pass per text is the whole point: sentiment needs clauses (the part after "ma"/"but" weighs more), aspects need
the same clauses with their topic mentions, topics need the lemmas. Doing it three times would triple the cost of
the slowest part (the Python loop over tokens), so every engine takes a ``Doc`` and ``doc()`` builds it.

Lemmas come from simplemma (offline, MIT) through a plain dict cache: simplemma costs ~200 µs a word, a dict
lookup ~50 ns, and customer comments reuse a small vocabulary, so after the first few thousand comments almost
every lemma is a cache hit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import simplemma

# Emoji ranges (pictographs, symbols, dingbats) and a few ASCII emoticons: each is one token, sentiment-bearing.
_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2b55\u2764\u203c\u2049"
_TOKEN = re.compile(
    r"(?P<pii>\[(?:EMAIL|PHONE|IBAN|CARD|CODICE_FISCALE|PARTITA_IVA|ADDRESS|NAME)\])"
    r"|(?P<emo>[:;=]-?[)(DPp]|<3|\bx[dD]\b)"
    rf"|(?P<e>[{_EMOJI}])"
    r"|(?P<w>[^\W\d_]+)"
    r"|(?P<n>\d+(?:[.,:]\d+)*)"
    r"|(?P<p>[.!?;\n]+|,|\s[-–—]\s|:)"
)
# English contractions: "don't" -> "do not" so that negation is one rule for both languages.
_NT = re.compile(r"n['’]t\b", re.IGNORECASE)
_VARIATION = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff]")  # emoji variation selectors, ZWJ, skin tones

# Words that open a new clause. "contrast": what follows weighs more ("ma", "but"); "concessive": the clause they
# open weighs less ("anche se", "although"); "and": a coordinating conjunction, a clause break only when both
# sides are long enough to be clauses (see ``_split_and``).
CONTRAST = {
    "it": {"ma", "però", "pero", "tuttavia", "invece"},
    "en": {"but", "however", "yet", "nevertheless"},
}
CONCESSIVE = {
    "it": {"sebbene", "benché", "nonostante", "malgrado", "seppur", "seppure"},
    "en": {"although", "despite", "while", "whilst"},
}
CONCESSIVE_PAIRS = {"it": {("anche", "se"), ("pur", "essendo")}, "en": {("even", "though"), ("even", "if")}}
AND = {"it": {"e", "ed"}, "en": {"and"}}
_KEEP_SURFACE_LANGS = ("it", "en")

_LEMMA_CACHE: dict[tuple[str, str], str] = {}


def lemma(word: str, lang: str) -> str:
    """simplemma's lemma of a lower-case word, cached; other languages keep the word."""
    key = (lang, word)
    got = _LEMMA_CACHE.get(key)
    if got is None:
        got = simplemma.lemmatize(word, lang=lang).lower() if lang in _KEEP_SURFACE_LANGS and len(word) > 2 else word
        if len(_LEMMA_CACHE) > 500_000:  # unbounded vocabularies (typos, ids): keep memory flat
            _LEMMA_CACHE.clear()
        _LEMMA_CACHE[key] = got
    return got


def superlatives(word: str) -> list[str]:
    """Italian absolute superlatives of an adjective: gentile -> gentilissimo/a/i/e, lento -> lentissimo...;
    simplemma leaves them unlemmatised, so lexicons and taxonomies add them at load time."""
    if len(word) < 4 or word[-1] not in "oe" or " " in word or word.endswith("issimo"):
        return []
    stem = word[:-1]
    if stem.endswith(("c", "g")):
        stem += "h"  # ricco -> ricchissimo, lungo -> lunghissimo
    return [stem + "issim" + e for e in "oaie"]


@dataclass(slots=True)
class Clause:
    words: list[str] = field(default_factory=list)  # lower-case surface forms
    lemmas: list[str] = field(default_factory=list)
    caps: list[bool] = field(default_factory=list)  # written in capitals (shouting: intensifies)
    kind: str = "plain"  # plain | contrast (opened by ma/but) | concessive (anche se/although)
    exclaim: int = 0  # "!" closing the clause
    question: bool = False  # closed by "?": a question asks, it does not praise ("Can you help?")


@dataclass(slots=True)
class Doc:
    lang: str
    clauses: list[Clause]


def doc(text: str, lang: str) -> Doc:
    """Split ``text`` into clauses of tokens; ``lang`` is "it", "en" or anything else (no lemmas)."""
    lang_key = lang if lang in CONTRAST else "en"
    contrast, concessive, conj = CONTRAST[lang_key], CONCESSIVE[lang_key], AND[lang_key]
    pairs = CONCESSIVE_PAIRS[lang_key]
    cache_get = _LEMMA_CACHE.get
    if "'" in text or "’" in text:
        text = _NT.sub(" not", text)
    clauses: list[Clause] = []
    cur = Clause()
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        if kind == "p":
            if "!" in tok:
                cur.exclaim += tok.count("!")
            if "?" in tok:
                cur.question = True
            if cur.words:
                clauses.append(cur)
                cur = Clause()
            continue
        if kind == "e":
            tok = _VARIATION.sub("", tok)
            cur.words.append(tok)
            cur.lemmas.append(tok)
            cur.caps.append(False)
            continue
        if kind == "emo" or kind == "n" or kind == "pii":
            # a masked finding is one opaque token: never a keyword, a topic term or a sentiment word
            cur.words.append(tok.lower() if kind == "emo" else "<num>" if kind == "n" else "<pii>")
            cur.lemmas.append(cur.words[-1])
            cur.caps.append(False)
            continue
        low = tok.lower()
        if low in contrast or low in concessive:
            if cur.words:
                clauses.append(cur)
            cur = Clause(kind="contrast" if low in contrast else "concessive")
            continue
        if cur.words and (cur.words[-1], low) in pairs:
            cur.words.pop()
            cur.lemmas.pop()
            cur.caps.pop()
            if cur.words:
                clauses.append(cur)
            cur = Clause(kind="concessive")
            continue
        cur.words.append(low)
        lm = cache_get((lang, low))
        cur.lemmas.append(lm if lm is not None else lemma(low, lang))
        cur.caps.append(len(tok) > 2 and tok.isupper())
    if cur.words:
        clauses.append(cur)
    return Doc(lang, _split_and(clauses, conj))


def _split_and(clauses: list[Clause], conj: set[str]) -> list[Clause]:
    """Break a clause at "e"/"and" when both sides have at least three words: "operatore gentile e veloce" stays
    one clause, "l'operatore è stato gentile e ho aspettato 40 minuti" becomes two (each gets its own aspect)."""
    out: list[Clause] = []
    for c in clauses:
        start = 0
        for i, w in enumerate(c.words):
            if w in conj and i - start >= 3 and len(c.words) - i - 1 >= 3:
                out.append(Clause(c.words[start:i], c.lemmas[start:i], c.caps[start:i], c.kind if start == 0
                                  else "plain", 0))
                start = i + 1
        if start == 0:
            out.append(c)
        else:
            out.append(Clause(c.words[start:], c.lemmas[start:], c.caps[start:], "plain", c.exclaim, c.question))
    return out
