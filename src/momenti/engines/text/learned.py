"""The learned sentiment tier: TF-IDF on words and character n-grams + a calibrated linear classifier.

Features: word uni+bigrams (sublinear tf) and character 2-5-grams within word boundaries (robust to typos,
inflection and hashtags), plus the lexicon's own reading of the text (positive and negative evidence, the
squashed score) so that a small training set still knows "pessimo" is bad. Classifier: a linear SVM whose scores
are calibrated into probabilities by ``CalibratedClassifierCV`` (sigmoid, 3 folds), so the tier can trust the model
only above a probability threshold. ``fit`` also runs a stratified 5-fold cross-validation of the same pipeline and
stores the macro-F1 in ``cv_macro_f1_`` (what a user sees before deciding to use the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from momenti.core.errors import InputError
from momenti.engines.text.sentiment import Sentiment, clause_scores, combine, fill_langs
from momenti.engines.text.tokens import Doc, doc

FORMAT_VERSION = 1
_LANG_MARK = "\x01"  # "\x01it\x01 text": the language travels with the text through the sklearn pipeline


class _LexiconFeatures(BaseEstimator, TransformerMixin):
    """Three dense columns from the lexicon: positive evidence, negative evidence, squashed score."""

    def fit(self, x: Sequence[str], y: object = None) -> _LexiconFeatures:
        return self

    def transform(self, x: Sequence[str]) -> sparse.csr_matrix:
        rows = []
        for t in x:
            lang, text = _split(t)
            d = doc(text, lang)
            rows.append(lexicon_row(d, clause_scores(d)[0]))
        return sparse.csr_matrix(np.asarray(rows, dtype=np.float64).reshape(len(rows), 3))


def lexicon_row(d: Doc, scores: list[float]) -> tuple[float, float, float]:
    """The lexicon's features of one text: log1p(positive evidence), log1p(negative evidence), squashed score."""
    pos = sum(s for s in scores if s > 0)
    neg = -sum(s for s in scores if s < 0)
    return float(np.log1p(pos)), float(np.log1p(neg)), combine(d, scores)


def _split(marked: str) -> tuple[str, str]:
    if marked.startswith(_LANG_MARK):
        end = marked.index(_LANG_MARK, 1)
        return marked[1:end], marked[end + 1:]
    return "other", marked


def _text_only(marked: str) -> str:
    return _split(marked)[1].lower()


def _pipeline(c: float, seed: int) -> Pipeline:
    features = FeatureUnion([
        ("words", TfidfVectorizer(preprocessor=_text_only, ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                  token_pattern=r"(?u)\b\w+\b|[\U0001F300-\U0001FAFF\u2600-\u27BF]")),
        ("chars", TfidfVectorizer(preprocessor=_text_only, analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                  sublinear_tf=True, max_features=200_000)),
        ("lexicon", _LexiconFeatures()),
    ])
    clf = CalibratedClassifierCV(LinearSVC(C=c, class_weight="balanced", random_state=seed), method="sigmoid",
                                 cv=3)
    return Pipeline([("features", features), ("clf", clf)])


class LearnedSentiment:
    """Sentiment learned from labelled comments (e.g. scores: NPS 0-6 negative, 9-10 positive)."""

    # The lexicon's reading is among the features: the tiers let this model answer every text it is given
    # rather than send its unsure ones back to the lexicon (TieredSentiment).
    stacks_lexicon = True

    def __init__(self, c: float = 0.3, seed: int = 0, cv_folds: int = 5) -> None:
        self.c = c
        self.seed = seed
        self.cv_folds = cv_folds
        self.pipeline_: Pipeline | None = None
        self.classes_: list[str] = []
        self.cv_macro_f1_: float | None = None
        self.cv_predictions_: np.ndarray | None = None
        self.n_train_: int = 0

    @staticmethod
    def _marked(texts: Sequence[str], langs: Sequence[str]) -> list[str]:
        return [f"{_LANG_MARK}{lg}{_LANG_MARK}{t or ''}" for t, lg in zip(texts, langs, strict=True)]

    def fit(self, texts: Sequence[str], labels: Sequence[str], langs: Sequence[str | None] | None = None,
            cv: bool = True) -> LearnedSentiment:
        texts = list(texts)
        y = np.asarray([str(v) for v in labels])
        if len(texts) != len(y):
            raise InputError(f"{len(texts)} texts but {len(y)} labels")
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise InputError("sentiment training needs at least two labels (e.g. negative and positive)")
        if counts.min() < max(self.cv_folds, 3):
            raise InputError(f"every label needs at least {max(self.cv_folds, 3)} examples; got "
                             + ", ".join(f"{c}={n}" for c, n in zip(classes, counts, strict=True)))
        x = self._marked(texts, fill_langs(texts, langs))
        if cv:
            pred = np.empty(len(y), dtype=object)
            folds = StratifiedKFold(self.cv_folds, shuffle=True, random_state=self.seed)
            for train, test in folds.split(x, y):
                p = _pipeline(self.c, self.seed).fit([x[i] for i in train], y[train])
                pred[test] = p.predict([x[i] for i in test])
            self.cv_predictions_ = pred.astype(str)
            self.cv_macro_f1_ = float(f1_score(y, self.cv_predictions_, average="macro"))
        self.pipeline_ = _pipeline(self.c, self.seed).fit(x, y)
        self.classes_ = [str(c) for c in self.pipeline_.classes_]
        self.n_train_ = len(y)
        return self

    def predict_proba(self, texts: Sequence[str], langs: Sequence[str | None] | None = None,
                      lexicon_rows: Sequence[tuple[float, float, float]] | None = None) -> np.ndarray:
        """Class probabilities (columns in ``classes_`` order). ``lexicon_rows``: the lexicon features when the
        caller already has them (``analyze_batch`` does), saving a second tokenisation of every text."""
        if self.pipeline_ is None:
            raise InputError("the sentiment model is not trained: call fit() or load() first")
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        x = self._marked(texts, fill_langs(texts, langs))
        if lexicon_rows is None:
            return self.pipeline_.predict_proba(x)
        union = self.pipeline_.named_steps["features"]
        parts = [sparse.csr_matrix(np.asarray(lexicon_rows, dtype=np.float64).reshape(len(x), 3))
                 if name == "lexicon" else trans.transform(x) for name, trans in union.transformer_list]
        return self.pipeline_.named_steps["clf"].predict_proba(sparse.hstack(parts).tocsr())

    def predict(self, texts: Sequence[str], langs: Sequence[str | None] | None = None,
                lexicon_rows: Sequence[tuple[float, float, float]] | None = None) -> list[Sentiment]:
        proba = self.predict_proba(texts, langs, lexicon_rows)
        out = []
        cls = self.classes_
        pos = cls.index("positive") if "positive" in cls else None
        neg = cls.index("negative") if "negative" in cls else None
        for row in proba:
            k = int(row.argmax())
            score = (row[pos] if pos is not None else 0.0) - (row[neg] if neg is not None else 0.0)
            out.append(Sentiment(cls[k], round(float(score), 4), round(float(row[k]), 4), "model"))
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"format": FORMAT_VERSION, "model": self}, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> LearnedSentiment:
        try:
            blob = joblib.load(Path(path))
        except FileNotFoundError as e:
            raise InputError(f"no sentiment model at {path}") from e
        if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION or not isinstance(blob.get("model"), cls):
            raise InputError(f"{path} is not a momenti sentiment model (format {FORMAT_VERSION})")
        return blob["model"]
