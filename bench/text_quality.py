"""Sentiment quality as a user gets it: the labels `momenti text analyze` stores, read back with `ws.comments()`,
beside the learned model alone and the lexicon alone, on held-out folds.

    python bench/text_quality.py                 # SENTIPOLC 5 folds + the English checks
    BENCH_FOLDS=2 python bench/text_quality.py   # a quicker run (the first 2 of the 5 folds); 0: English only

SENTIPOLC 2016 (Italian tweets, the training file): stratified 5-fold on (opos, oneg). Per fold a fresh workspace
is trained with the company's labels (`ws.text_train(labels=<file>)`: negative / neutral / positive; the 1/1
"mixed" tweets have no such label and are left out of training) and then imports the held-out tweets as feedback
(no language given: detected, as for a real import) and runs `ws.text_analyze()`; the stored labels are read back
with `ws.comments(limit=...)` and scored. Official polarity F as in EVALITA 2016: F_pos = macro-F1 over opos in
{0, 1} (a "positive" answer means opos = 1), F_neg the same for oneg, F = (F_pos + F_neg) / 2, every held-out
tweet counted (mixed ones too). "model" is the same trained model's own prediction (``LearnedSentiment.predict``)
on the same fold, "lexicon" the cold-start lexicon alone; 3-class macro-F1 is given on the non-mixed tweets.

English: no labelled public English sentiment set is on this machine (the airline tweets the issue was measured
on are not redistributable here); the CFPB complaint narratives are complaints by construction, so the share read
as positive is an error rate (lower is better), by the lexicon and as stored by a workspace with no model (the
cold start a user gets); and the issue's airline phrases are checked.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

import momenti
from momenti.engines.text.learned import LearnedSentiment
from momenti.engines.text.sentiment import LexiconSentiment

DATA = Path(os.environ.get("MOMENTI_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FOLDS = int(os.environ.get("BENCH_FOLDS", 5))
LABELS3 = ["negative", "neutral", "positive"]


def polarity_f(opos: np.ndarray, oneg: np.ndarray, predicted: list[str]) -> float:
    """EVALITA 2016 SENTIPOLC task 2: mean of the positive-class and negative-class macro-F1."""
    pos = np.asarray([p == "positive" for p in predicted], dtype=int)
    neg = np.asarray([p == "negative" for p in predicted], dtype=int)
    return float((f1_score(opos, pos, average="macro") + f1_score(oneg, neg, average="macro")) / 2)


def company_label(opos: int, oneg: int) -> str | None:
    if opos and oneg:
        return None  # mixed: not one of the company's three labels
    return "positive" if opos else "negative" if oneg else "neutral"


def through_workspace(folder: Path, train: pd.DataFrame, test: pd.DataFrame) -> tuple[list[str], LearnedSentiment]:
    """Train a fresh workspace on `train`, import and analyse `test` as feedback, read the stored labels back."""
    labels = folder / "labels.csv"
    train.assign(label=[company_label(a, b) for a, b in zip(train.opos, train.oneg, strict=True)]).dropna(
        subset=["label"])[["text", "label"]].to_csv(labels, index=False)
    ws = momenti.open(folder / "data", text_auto=False)
    try:
        meta = ws.text_train(labels=labels)
        ws.import_records("feedback", [
            {"feedback_id": f"T{i}", "source": "twitter", "text": t, "created_at": "2026-01-05T10:00:00Z"}
            for i, t in zip(test.index, test.text, strict=True)])
        ws.text_analyze()
        shown = ws.comments(limit=len(test) + 10)
        got = dict(zip(shown.external_id, shown.sentiment, strict=True))
        model = LearnedSentiment.load(meta["path"])
    finally:
        ws.close()
    missing = [i for i in test.index if f"T{i}" not in got]
    if missing:
        raise RuntimeError(f"{len(missing)} held-out tweets have no stored label (e.g. row {missing[0]})")
    return [got[f"T{i}"] for i in test.index], model


def sentipolc() -> None:
    if FOLDS < 1:
        return
    sp = pd.read_csv(DATA / "sentipolc2016_train.csv", sep=";", dtype={"text": str}).reset_index(drop=True)
    strata = sp.opos * 2 + sp.oneg
    rows = []
    t0 = time.perf_counter()
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(sp, strata))[:FOLDS]
    for k, (tr, te) in enumerate(folds):
        test = sp.iloc[te]
        with tempfile.TemporaryDirectory() as tmp:
            piped, model = through_workspace(Path(tmp), sp.iloc[tr], test)
        texts = test.text.tolist()
        own = [s.label for s in model.predict(texts, ["it"] * len(texts))]
        lex = [s.label for s in LexiconSentiment().predict(texts, ["it"] * len(texts))]
        y3 = [company_label(a, b) for a, b in zip(test.opos, test.oneg, strict=True)]
        keep = [i for i, v in enumerate(y3) if v is not None]
        row = {"fold": k}
        for name, pred in (("pipeline", piped), ("model", own), ("lexicon", lex)):
            row[f"{name} F"] = polarity_f(test.opos.to_numpy(), test.oneg.to_numpy(), pred)
            row[f"{name} macro-F1"] = f1_score([y3[i] for i in keep], [pred[i] for i in keep], labels=LABELS3,
                                               average="macro")
        rows.append(row)
        print(f"fold {k}: " + ", ".join(f"{a} {b:.3f}" for a, b in row.items() if a != "fold"), flush=True)
    df = pd.DataFrame(rows)
    print(f"\n## SENTIPOLC 2016 train, {len(folds)} of 5 folds ({len(sp):,} tweets, {time.perf_counter() - t0:.0f} s)")
    print("| answered by | polarity F (official) | 3-class macro-F1 (non-mixed) |")
    print("|---|---|---|")
    for name in ("pipeline", "model", "lexicon"):
        print(f"| {name} | {df[f'{name} F'].mean():.3f} ± {df[f'{name} F'].std(ddof=0):.3f} | "
              f"{df[f'{name} macro-F1'].mean():.3f} |")


AIRLINE_PHRASES = {  # the issue's examples: complaints whose requests and politeness read positive
    "Please help!": "negative",
    "Can you help?": "negative",
    "I would appreciate a call back, my flight was cancelled": "negative",
    "Thanks for the info but have been trying for over 24hrs": "negative",
    "On hold for 2 hours, no response": "negative",
    "Thanks, the crew was great!": "positive",
}


def stored_cold_start(texts: list[str]) -> list[str]:
    """The labels a workspace with no trained model stores for `texts` (imported as feedback, no language)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = momenti.open(Path(tmp) / "data", text_auto=False)
        try:
            ws.import_records("feedback", [
                {"feedback_id": f"C{i}", "source": "cfpb", "text": t, "created_at": "2026-01-05T10:00:00Z"}
                for i, t in enumerate(texts)])
            ws.text_analyze()
            shown = ws.comments(limit=len(texts) + 10)
        finally:
            ws.close()
    return shown.sentiment.tolist()


def english() -> None:
    lex = LexiconSentiment()
    cf = pd.read_csv(DATA / "cfpb_complaints_sample.csv")["Consumer complaint narrative"].dropna().tolist()
    print(f"\n## English: CFPB complaint narratives ({len(cf):,}); positive is an error: every one is a complaint")
    print("| read by | negative | neutral | positive |")
    print("|---|---|---|---|")
    for name, labels in (("lexicon alone", [s.label for s in lex.predict(cf, ["en"] * len(cf))]),
                         ("pipeline, stored (no model: the cold start)", stored_cold_start(cf))):
        share = pd.Series(labels).value_counts(normalize=True)
        print(f"| {name} | {share.get('negative', 0):.1%} | {share.get('neutral', 0):.1%} | "
              f"{share.get('positive', 0):.1%} |")
    got = lex.predict(list(AIRLINE_PHRASES), ["en"] * len(AIRLINE_PHRASES))
    right = sum(s.label == want for s, want in zip(got, AIRLINE_PHRASES.values(), strict=True))
    print(f"issue phrases right: {right}/{len(AIRLINE_PHRASES)}")
    for (text, want), s in zip(AIRLINE_PHRASES.items(), got, strict=True):
        print(f"  {s.label:8} (want {want:8}) {s.score:+.2f} {text}")


def main() -> None:
    print(f"# momenti sentiment quality (python {sys.version.split()[0]})")
    english()
    sentipolc()


if __name__ == "__main__":
    main()
