"""Tiered sentiment: the trained tiers (learned model, local transformer) in order, then the lexicon for what
no tier is sure of. Apart from ``sentiment.py`` because a tier (``learned.py``) builds on the lexicon's features."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING

from momenti.engines.text.learned import lexicon_row
from momenti.engines.text.sentiment import LexiconSentiment, Sentiment, fill_langs
from momenti.engines.text.tokens import Doc, doc

if TYPE_CHECKING:
    from momenti.engines.text.learned import LearnedSentiment


DEFAULT_MIN_CONFIDENCE = 0.6  # a tier that does not already weigh the lexicon answers above this


class TieredSentiment:
    """An ordered list of tiers, then the lexicon: each text gets the first tier whose confidence is >=
    its threshold; what no tier is sure of gets the lexicon's reading (which always answers).

    ``TieredSentiment(model)``: one tier (the learned model); ``TieredSentiment([transformer, model])``: the
    transformer first, the learned model where it is unsure, then the lexicon. ``min_confidence`` is one threshold
    for every tier or one per tier; by default (None) a tier that already weighs the lexicon's reading (the
    learned model: the lexicon's scores are among its features, ``stacks_lexicon``) answers every text it sees
    (threshold 0), any other tier answers at >= 0.6. Why: handing a trained model's unsure texts to the lexicon
    made the output worse than the model alone (SENTIPOLC polarity F 0.64 against 0.72, docs/text.md): its
    calibrated 0.45 is still a better guess than the lexicon's, which it has already seen. A later tier sees only
    the texts the earlier ones left, so a slow first tier is not paid twice. A tier is anything with
    ``predict(texts, langs) -> list[Sentiment]``; one whose ``predict`` also takes ``lexicon_rows`` (the learned
    model) is given the lexicon's features already computed.
    """

    def __init__(self, model: LearnedSentiment | Sequence[object] | None = None,
                 min_confidence: float | Sequence[float] | None = None) -> None:
        if model is None:
            tiers: list[object] = []
        elif isinstance(model, (list, tuple)):
            tiers = [t for t in model if t is not None]
        else:
            tiers = [model]
        self.tiers = tiers
        if min_confidence is None:
            self.thresholds = [0.0 if getattr(t, "stacks_lexicon", False) else DEFAULT_MIN_CONFIDENCE for t in tiers]
        elif isinstance(min_confidence, (int, float)):
            self.thresholds = [float(min_confidence)] * len(tiers)
        else:
            self.thresholds = [float(v) for v in min_confidence]
            if len(self.thresholds) != len(tiers):
                raise ValueError(f"{len(tiers)} tiers but {len(self.thresholds)} confidence thresholds")
        self.min_confidence = min_confidence
        self.lexicon = LexiconSentiment()
        self._wants_rows = ["lexicon_rows" in inspect.signature(t.predict).parameters for t in tiers]

    @property
    def model(self) -> object | None:
        """The first tier (the learned model when it is the only one), or None for the lexicon alone."""
        return self.tiers[0] if self.tiers else None

    def predict(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Sentiment]:
        langs = fill_langs(texts, langs)
        docs = [doc(t or "", lg) for t, lg in zip(texts, langs, strict=True)]
        return [s for s, _ in self.predict_docs(texts, docs)]

    def predict_docs(self, texts: Sequence[str], docs: Sequence[Doc]) -> list[tuple[Sentiment, list[float]]]:
        """Per text: the chosen sentiment and the lexicon's clause scores (for aspects)."""
        lex = self.lexicon.predict_docs(docs)
        if not self.tiers or not texts:
            return lex
        chosen: list[Sentiment | None] = [None] * len(lex)
        todo = list(range(len(lex)))
        for tier, threshold, wants_rows in zip(self.tiers, self.thresholds, self._wants_rows, strict=True):
            if not todo:
                break
            sub_texts = [texts[i] for i in todo]
            sub_langs = [docs[i].lang for i in todo]
            if wants_rows:
                rows = [lexicon_row(docs[i], lex[i][1]) for i in todo]
                found = tier.predict(sub_texts, sub_langs, lexicon_rows=rows)  # type: ignore[attr-defined]
            else:
                found = tier.predict(sub_texts, sub_langs)  # type: ignore[attr-defined]
            left = []
            for i, s in zip(todo, found, strict=True):
                if s.confidence >= threshold:
                    chosen[i] = s
                else:
                    left.append(i)
            todo = left
        return [(c if c is not None else ls, clauses) for c, (ls, clauses) in zip(chosen, lex, strict=True)]
