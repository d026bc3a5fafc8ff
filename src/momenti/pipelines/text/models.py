"""Versioned sentiment models under the data directory, and the training labels a company already owns.

`models/sentiment-<n>.joblib` is the n-th model trained (`LearnedSentiment.save`), beside `sentiment-<n>.json`
(its metadata: cross-validated macro-F1, n, class counts, date, where the labels came from). The newest is used
automatically; deleting its files falls back to the one before (or to the lexicon when none is left). With
MOMENTI_TEXT_MODEL_DIR set, a local transformer model (``momenti.engines.text.transformer``) is the first tier, before
the learned model and the lexicon.

Labels from scores: a comment left with an NPS of 0-6 is negative and 9-10 positive, with a CSAT of 1-2 negative
and 4-5 positive, a review rated 1-2 negative and 4-5 positive (thresholds configurable); passives and the middle
are left out, not called neutral: the score says nothing sure about them. Texts are PII-masked before fitting, so
no e-mail address or name ends up in a saved model's vocabulary.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from momenti.core.errors import InputError
from momenti.warehouse.connection import WarehouseConnection

if TYPE_CHECKING:
    from momenti.core.config import Settings

MODEL_FILE = re.compile(r"^sentiment-(\d+)\.joblib$")
LABELS = ("negative", "neutral", "positive")
MIN_PER_CLASS = 20  # 5-fold cross-validation needs a few of each class in every fold
MAX_TRAIN = 20_000  # labelled comments used at most (a stratified sample beyond)


@dataclass(frozen=True)
class Thresholds:
    """Scores at or below `*_neg` label a comment negative, at or above `*_pos` positive."""

    nps_neg: float = 6
    nps_pos: float = 9
    csat_neg: float = 2
    csat_pos: float = 4
    rating_neg: float = 2
    rating_pos: float = 4


def models_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "models"


def model_files(settings: Settings) -> list[tuple[int, Path]]:
    folder = models_dir(settings)
    if not folder.is_dir():
        return []
    found = [(int(m[1]), p) for p in folder.iterdir() if (m := MODEL_FILE.match(p.name))]
    return sorted(found)


def newest(settings: Settings) -> tuple[int, Path] | None:
    files = model_files(settings)
    return files[-1] if files else None


def list_models(settings: Settings) -> pd.DataFrame:
    rows = []
    for n, path in model_files(settings):
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        rows.append({"model": f"sentiment-{n}", "created_at": meta.get("created_at"), "n": meta.get("n"),
                     "cv_macro_f1": meta.get("cv_macro_f1"), "labels_from": meta.get("labels_from"),
                     "path": str(path)})
    return pd.DataFrame(rows, columns=["model", "created_at", "n", "cv_macro_f1", "labels_from", "path"])


def load_newest(settings: Settings) -> tuple[object | None, str | None]:
    """What the pipeline's ``TieredSentiment`` is built from, and its identity (part of the analyzer version):
    (LearnedSentiment, "sentiment-<n>") for the newest trained model, (None, None) for the lexicon alone; with
    MOMENTI_TEXT_MODEL_DIR set, ([TransformerSentiment, LearnedSentiment?], "tf-<hash>[+sentiment-<n>]"), the
    transformer first. The hash covers the model directory's files, so another model re-analyses everything."""
    tiers, tiers_id = load_tiers(settings)
    if settings.text_model_dir is None:
        return (tiers[0] if tiers else None), tiers_id
    return tiers, tiers_id


def load_tiers(settings: Settings) -> tuple[list[object], str | None]:
    """The sentiment tiers in order (transformer, learned model; the lexicon is always the last, implicit) and
    their identity, None for the lexicon alone."""
    tiers: list[object] = []
    ids: list[str] = []
    if settings.text_model_dir is not None:
        transformer = load_transformer(settings.text_model_dir)
        tiers.append(transformer)
        ids.append(f"tf-{transformer.fingerprint}")
    found = newest(settings)
    if found is not None:
        from momenti.engines.text.learned import LearnedSentiment

        tiers.append(LearnedSentiment.load(found[1]))
        ids.append(f"sentiment-{found[0]}")
    return tiers, ("+".join(ids) or None)


def load_transformer(model_dir: Path):  # noqa: ANN201 - a momenti.engines.text.transformer.TransformerSentiment
    """The model of MOMENTI_TEXT_MODEL_DIR, loaded once per process per directory content. Set but unusable
    (missing, not a model, transformers/torch not installed, labels that do not map) is an error naming the
    setting: a user who pointed momenti at a model must not silently get the lexicon instead."""
    from momenti.engines.text.transformer import fingerprint

    path = Path(model_dir).expanduser().resolve()
    try:
        if not path.is_dir():
            raise InputError(f"{path}: no such directory")
        return _cached_transformer(str(path), fingerprint(path))
    except InputError as e:
        raise InputError(f"MOMENTI_TEXT_MODEL_DIR: {e} (unset it to use the learned model and the "
                         "lexicon only)") from e


@lru_cache(maxsize=1)
def _cached_transformer(path: str, fingerprint: str):  # noqa: ANN202 - the fingerprint keys the cache
    from momenti.engines.text.transformer import TransformerSentiment

    return TransformerSentiment(Path(path))


# --- labels -------------------------------------------------------------------------------------------------


def labels_from_scores(wh: WarehouseConnection, th: Thresholds = Thresholds()) -> pd.DataFrame:
    """(text, label, language, labels_from) of every comment whose own score labels it. Comments are the
    answers to free-text questions labelled by the NPS or CSAT answer of the same response (NPS first);
    feedback by its rating."""
    from momenti.pipelines.text.sources import free_text_questions

    a = wh.table("answers")
    comments = a.filter(a.value_text.notnull() & (a.value_text != "") & a.question.isin(
        free_text_questions(wh) or [""]))
    comments = comments.select(a.response_id, text=a.value_text, language=a.language)

    def score(key: str) -> ibis.Table:
        s = a.filter((a.question == key) & a.value_num.notnull())
        return s.group_by("response_id").aggregate(**{key: s.value_num.max()})

    t = comments.left_join(score("nps"), "response_id").drop("response_id_right")
    t = t.left_join(score("csat"), "response_id").drop("response_id_right")
    by_nps = ibis.cases((t.nps <= th.nps_neg, "negative"), (t.nps >= th.nps_pos, "positive"), else_=None)
    by_csat = ibis.cases((t.csat <= th.csat_neg, "negative"), (t.csat >= th.csat_pos, "positive"), else_=None)
    answers = t.select(text=t.text, label=ibis.ifelse(t.nps.notnull(), by_nps, by_csat), language=t.language,
                       labels_from=ibis.ifelse(t.nps.notnull(), "nps", "csat"))
    f = wh.table("feedback")
    f = f.filter(f.rating.notnull() & f.text.notnull())
    feedback = f.select(text=f.text, label=ibis.cases((f.rating <= th.rating_neg, "negative"),
                                                      (f.rating >= th.rating_pos, "positive"), else_=None),
                        language=f.language, labels_from=ibis.literal("rating"))
    both = ibis.union(answers, feedback)
    return both.filter(both.label.notnull()).to_pandas()


def labels_from_file(path: Path) -> pd.DataFrame:
    """A CSV with `text,label` (label: negative/neutral/positive, or -1/0/1, or neg/neu/pos)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"text", "label"} - set(df.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}; the file needs text,label")
    aliases = {"-1": "negative", "neg": "negative", "0": "neutral", "neu": "neutral", "1": "positive",
               "pos": "positive", "negativo": "negative", "neutro": "neutral", "positivo": "positive"}
    labels = df["label"].str.strip().str.lower().map(lambda v: aliases.get(v, v))
    bad = ~labels.isin(LABELS)
    if bad.any():
        line = int(bad.to_numpy().nonzero()[0][0]) + 2  # 1-based, after the header
        raise InputError(f"{path}:{line}: label {df['label'][bad].iloc[0]!r}: use negative, neutral or positive")
    out = pd.DataFrame({"text": df["text"], "label": labels, "language": None, "labels_from": "file"})
    return out[out["text"].str.strip() != ""].reset_index(drop=True)


# --- training -----------------------------------------------------------------------------------------------


def train(settings: Settings, labelled: pd.DataFrame, max_n: int = MAX_TRAIN, seed: int = 0) -> dict:
    """Fit a LearnedSentiment on `labelled` (text, label, language), save it as the next version and return
    its metadata (model, path, n, n_available, per-class counts, cv_macro_f1, created_at, labels_from).
    More than `max_n` labelled comments: a stratified sample of `max_n` (the learning curve is flat well
    before that, and fitting, with its cross-validation, grows with n)."""
    available = len(labelled)
    if available > max_n:
        frac = max_n / available
        labelled = labelled.groupby("label", group_keys=False).sample(frac=frac, random_state=seed)
    counts = labelled["label"].value_counts()
    if len(counts) < 2 or counts.min() < MIN_PER_CLASS:
        raise InputError(f"not enough labelled comments to train: {counts.to_dict()} (need at least "
                         f"{MIN_PER_CLASS} of each of two classes or more)")
    from momenti.engines.text.learned import LearnedSentiment
    from momenti.engines.text.pii import mask_many

    texts = [m.text for m in mask_many(labelled["text"].tolist())]
    langs = [v if isinstance(v, str) and v else None for v in labelled["language"].tolist()]
    model = LearnedSentiment().fit(texts, labelled["label"].tolist(), langs=langs)
    previous = newest(settings)
    number = (previous[0] if previous else 0) + 1
    folder = models_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sentiment-{number}.joblib"
    model.save(path)
    meta = {
        "model": f"sentiment-{number}", "path": str(path), "n": int(len(labelled)), "n_available": available,
        "classes": {str(k): int(v) for k, v in counts.sort_index().items()},
        "cv_macro_f1": float(model.cv_macro_f1_),
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "labels_from": ",".join(sorted(set(labelled["labels_from"].astype(str)))),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta
