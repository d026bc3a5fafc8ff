"""Topics: a per-sector taxonomy of lemma/keyword rules (YAML, editable) and discovery of new topics.

A taxonomy file has ``topics``: a list of {key, label_it, label_en, it: [terms], en: [terms]}. A term is
    "word"        the word or its lemma (both sides are lemmatised with simplemma, so inflections match);
    "a b c"       consecutive lemmas (a phrase);
    "a+b"         all these lemmas in the same clause, in any order ("la carta me l'hanno bloccata").
A text gets every topic that has at least one matching term (multi-label). A text in another language is matched
against both languages' terms. Users edit a copy of a shipped taxonomy, or ``promote`` a discovered topic into
their own file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from momenti.core.errors import InputError
from momenti.engines.text.tokens import Doc, doc, lemma, superlatives

SECTORS = ("bank", "telco", "airline")
LANGS = ("it", "en")


@dataclass(slots=True)
class _Index:
    single: dict[str, set[str]] = field(default_factory=dict)  # word or lemma -> topic keys
    phrases: dict[tuple[str, ...], set[str]] = field(default_factory=dict)  # lemma tuple -> keys
    phrase_starts: set[str] = field(default_factory=set)
    max_phrase: int = 1
    cooc: list[tuple[frozenset[str], str]] = field(default_factory=list)  # (lemmas all present, key)
    cooc_words: set[str] = field(default_factory=set)  # any lemma of a co-occurrence rule: cheap pre-filter


def _norm(words: list[str], lang: str) -> tuple[str, ...]:
    return tuple(lemma(w, lang) for w in words)


class Taxonomy:
    """A set of topics with matching rules per language."""

    def __init__(self, data: dict[str, Any], source: str = "<dict>") -> None:
        topics = data.get("topics") if isinstance(data, dict) else None
        if not isinstance(topics, list) or not topics:
            raise InputError(f"{source}: a taxonomy needs a non-empty 'topics' list")
        seen: set[str] = set()
        for t in topics:
            if not isinstance(t, dict) or not t.get("key"):
                raise InputError(f"{source}: every topic needs a 'key'")
            if t["key"] in seen:
                raise InputError(f"{source}: topic key {t['key']!r} appears twice")
            seen.add(t["key"])
            if not any(t.get(lg) for lg in LANGS):
                raise InputError(f"{source}: topic {t['key']!r} has no terms (lists 'it' and/or 'en')")
        self.data = data
        self.source = source
        self.sector = str(data.get("sector", Path(source).stem))
        self._index = {lg: self._build(lg) for lg in LANGS}

    # -- loading -------------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, sector_or_path: str | Path = "bank") -> Taxonomy:
        """A shipped sector ("bank", "telco", "airline") or the path of a user's YAML file."""
        name = str(sector_or_path)
        if name in SECTORS:
            text = resources.files(__package__).joinpath(f"taxonomies/{name}.yaml").read_text(encoding="utf-8")
            return cls(yaml.safe_load(text), source=name)
        path = Path(name)
        if not path.is_file():
            raise InputError(f"no taxonomy {name!r}: use one of {', '.join(SECTORS)} or the path of a YAML file")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise InputError(f"{path}: not valid YAML ({e})") from e
        return cls(data, source=str(path))

    @property
    def topics(self) -> list[dict[str, str]]:
        return [{"key": t["key"], "label_it": t.get("label_it", t["key"]), "label_en": t.get("label_en", t["key"])}
                for t in self.data["topics"]]

    @property
    def keys(self) -> list[str]:
        return [t["key"] for t in self.data["topics"]]

    def label(self, key: str, lang: str = "it") -> str:
        for t in self.data["topics"]:
            if t["key"] == key:
                return t.get(f"label_{lang}") or t.get("label_en") or key
        raise KeyError(key)

    def labels(self, keys: Sequence[str], lang: str | None = "it") -> list[str]:
        """The label of each key in ``lang`` (English for "en", Italian otherwise); a key no longer in the
        taxonomy (a topic removed after the analysis) is shown as itself."""
        names = {t["key"]: t.get("label_en" if lang == "en" else "label_it") or t.get("label_en") or t["key"]
                 for t in self.data["topics"]}
        return [names.get(k, k) for k in keys]

    def _build(self, lang: str) -> _Index:
        idx = _Index()
        for t in self.data["topics"]:
            key = t["key"]
            for term in t.get(lang) or ():
                term = str(term).lower().replace("'", " ").replace("’", " ").strip()
                if not term:
                    continue
                if "+" in term:
                    parts = frozenset(lemma(p.strip(), lang) for p in term.split("+") if p.strip())
                    idx.cooc.append((parts, key))
                    idx.cooc_words.update(parts)
                    continue
                words = term.split()
                if len(words) == 1:
                    forms = [words[0], lemma(words[0], lang)]
                    if lang == "it":
                        forms += superlatives(words[0])
                    for form in forms:
                        idx.single.setdefault(form, set()).add(key)
                else:
                    for form in (tuple(words), _norm(words, lang)):
                        idx.phrases.setdefault(form, set()).add(key)
                        idx.phrase_starts.add(form[0])
                    idx.max_phrase = max(idx.max_phrase, len(words))
        return idx

    # -- matching ------------------------------------------------------------------------------------------------
    def match_doc(self, d: Doc) -> list[set[str]]:
        """Topic keys found in each clause of ``d``."""
        indexes = [self._index[d.lang]] if d.lang in self._index else list(self._index.values())
        out: list[set[str]] = []
        for c in d.clauses:
            found: set[str] = set()
            ws, lms = c.words, c.lemmas
            n = len(ws)
            for idx in indexes:
                single, starts, phrases = idx.single, idx.phrase_starts, idx.phrases
                for i in range(n):
                    w, lm = ws[i], lms[i]
                    hit = single.get(lm)
                    if hit:
                        found |= hit
                    if w != lm:
                        hit = single.get(w)
                        if hit:
                            found |= hit
                    if lm in starts or w in starts:
                        for k in range(2, min(idx.max_phrase, n - i) + 1):
                            hit = phrases.get(tuple(lms[i:i + k])) or phrases.get(tuple(ws[i:i + k]))
                            if hit:
                                found |= hit
                if idx.cooc:
                    present = (set(lms) | set(ws)) & idx.cooc_words
                    if len(present) >= 2:
                        for parts, key in idx.cooc:
                            if parts <= present:
                                found.add(key)
            out.append(found)
        return out

    def _ordered(self, found: set[str]) -> list[str]:
        return [k for k in self.keys if k in found]

    def match_docs(self, docs: Sequence[Doc]) -> list[list[str]]:
        out = []
        for d in docs:
            found: set[str] = set()
            for s in self.match_doc(d):
                found |= s
            out.append(self._ordered(found))
        return out

    def match(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[list[str]]:
        """Topic keys per text (multi-label, in taxonomy order)."""
        from momenti.engines.text.sentiment import fill_langs

        langs = fill_langs(texts, langs)
        return self.match_docs([doc(t or "", lg) for t, lg in zip(texts, langs, strict=True)])

    # -- editing -------------------------------------------------------------------------------------------------
    def promote(self, key: str, label_it: str, label_en: str, lemmas: Sequence[str] | dict[str, Sequence[str]],
                path: str | Path) -> Taxonomy:
        """Write a new topic into the user taxonomy at ``path`` and return the updated taxonomy.

        If ``path`` does not exist it starts as a copy of this taxonomy (so the user's file is complete and
        editable). ``lemmas`` is a list of terms used for both languages, or {"it": [...], "en": [...]}.
        """
        path = Path(path)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else _copy(self.data)
        if not key or not key.replace("_", "").isalnum():
            raise InputError(f"topic key {key!r}: use letters, digits and underscores")
        if any(t.get("key") == key for t in data.get("topics", [])):
            raise InputError(f"{path}: topic {key!r} already exists; edit the file to change it")
        terms = dict(lemmas) if isinstance(lemmas, dict) else {"it": list(lemmas), "en": list(lemmas)}
        if not any(terms.get(lg) for lg in LANGS):
            raise InputError("promote needs at least one term")
        topic: dict[str, Any] = {"key": key, "label_it": label_it, "label_en": label_en}
        for lg in LANGS:
            if terms.get(lg):
                topic[lg] = [str(x) for x in terms[lg]]
        data.setdefault("topics", []).append(topic)
        new = Taxonomy(data, source=str(path))  # validate before writing
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110), encoding="utf-8")
        return new


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(yaml.safe_dump(data, allow_unicode=True))


def discover(texts: Sequence[str], langs: Sequence[str | None] | None = None, n_topics: int = 8,
             seed: int = 0):  # noqa: ANN201 - pandas.DataFrame (imported lazily with scikit-learn)
    """New topics by NMF on TF-IDF of lemmas, labelled by top terms and YAKE keywords (see ``discovery.py``)."""
    from momenti.engines.text.discovery import discover as _discover

    return _discover(texts, langs, n_topics=n_topics, seed=seed)
