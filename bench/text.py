"""Text engines: throughput of ``analyze_batch`` and sentiment quality (macro-F1) beside baselines.

    python bench/text.py                      # 100 k comments, SENTIPOLC and demo quality
    BENCH_TEXTS=20000 python bench/text.py    # a quick run
    BENCH_QUALITY=0 python bench/text.py      # throughput only (lexicon tier)

Throughput: the demo's survey comments and feedback texts (``momenti.demo.generate("default")``), repeated to
``BENCH_TEXTS`` (100 k), through the whole ``analyze_batch`` (language, PII masking, sentiment, topics, aspects,
keywords): with the lexicon tier (the default), and with the tiered model (trained on the demo's NPS-labelled
comments). Baseline in the same run: the straightforward per-text pipeline one writes first (py3langid's
``classify`` per text, ``simplemma.lemmatize`` per word without a cache, a dict lookup of the lemmas in the same
lexicon), timed on a sample and extrapolated (same work per text). Peak memory is the process's max RSS
(``resource.getrusage``), before and after.

Quality: 5-fold cross-validated macro-F1 of the learned model (TF-IDF words + char n-grams + lexicon features,
calibrated linear SVM) beside the lexicon alone and the majority class, on
- SENTIPOLC 2016 training tweets (Italian; 3 classes; the 1/1 "mixed" tweets are dropped),
- demo comments labelled by their NPS (0-6 negative, 9-10 positive; 7-8 dropped; 2 classes: the lexicon's
  "neutral" counts as a miss),
and the share of CFPB complaint narratives (English, negative by nature) that each reads as negative.
What a user gets from `momenti text analyze` (stored labels, held-out folds, EVALITA polarity F) is
``bench/text_quality.py``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from momenti.demo import generate
from momenti.engines.text.analyze import analyze_batch
from momenti.engines.text.learned import LearnedSentiment
from momenti.engines.text.sentiment import LexiconSentiment
from momenti.engines.text.tiers import TieredSentiment

N = int(os.environ.get("BENCH_TEXTS", 100_000))
BASE_N = int(os.environ.get("BENCH_BASE_TEXTS", 3_000))
DATA = Path(os.environ.get("MOMENTI_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(texts: list[str]) -> float:
    """The first pipeline one writes: per-text language id, uncached lemmas, lexicon lookup; seconds."""
    import re

    import py3langid
    import simplemma

    from momenti.engines.text.sentiment import _lexicon

    lex = {"it": _lexicon("it").words, "en": _lexicon("en").words}
    word = re.compile(r"\w+")
    t0 = time.perf_counter()
    for t in texts:
        lang = py3langid.classify(t)[0]
        lang = lang if lang in ("it", "en") else "en"
        lemmas = [simplemma.lemmatize(w, lang=lang) for w in word.findall(t.lower())]
        sum(lex[lang].get(lm, 0.0) for lm in lemmas)
    return time.perf_counter() - t0


def demo_texts() -> tuple[list[str], pd.DataFrame]:
    data = generate("default", seed=42)
    resp = data.responses.select(["comment", "nps", "language"]).to_pandas()
    resp = resp[resp.comment.notna()]
    fb = data.feedback.column("text").to_pylist()
    return resp.comment.tolist() + [t for t in fb if t], resp


def throughput(texts: list[str], model: LearnedSentiment | None) -> None:
    batch = (texts * (N // len(texts) + 1))[:N]
    rss0 = peak_mb()
    analyze_batch(batch[:200])  # warm-up: taxonomy, lexicons, py3langid model
    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    df = analyze_batch(batch)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows.append(("analyze_batch, lexicon tier", dt, peak_mb()))
    distinct = list(dict.fromkeys(batch))  # no duplicate to reuse: the worst case for the same texts
    t0 = time.perf_counter()
    analyze_batch(distinct)
    rows.append((f"analyze_batch, lexicon tier, the {len(distinct):,} distinct texts only", time.perf_counter() - t0,
                 peak_mb(), len(distinct)))
    if model is not None:
        t0 = time.perf_counter()
        dfm = analyze_batch(batch, sentiment=TieredSentiment(model))
        dtm = time.perf_counter() - t0
        rows.append(("analyze_batch, tiered model", dtm, peak_mb()))
        share = (dfm.sentiment_source == "model").mean()
    sample = batch[:BASE_N]
    base = baseline(sample) * len(batch) / len(sample)
    mean_len = np.mean([len(t) for t in batch])
    print(f"\n## Throughput: {len(batch):,} texts ({len(set(batch)):,} distinct, mean {mean_len:.0f} chars); "
          f"peak RSS before {rss0:,.0f} MB")
    print("| pipeline | seconds | texts/s | peak RSS MB |")
    print("|---|---|---|---|")
    for name, secs, rss, *count in rows:
        print(f"| {name} | {secs:.1f} | {(count[0] if count else len(batch)) / secs:,.0f} | {rss:,.0f} |")
    print(f"| baseline (per-text langid + uncached simplemma + lexicon; {BASE_N:,} texts, extrapolated) | "
          f"{base:.1f} | {len(batch) / base:,.0f} | - |")
    print(f"ratio momenti (lexicon tier) / baseline: {base / rows[0][1]:.1f}x faster")
    print(f"lexicon tier CPU time {cpu:.1f} s = {len(batch) / cpu:,.0f} texts per CPU-second (on a busy machine the "
          "wall-clock rate is lower than this)")
    if model is not None:
        print(f"tiered model: {share:.0%} of texts answered by the model (a trained model answers every text)")
    print("languages:", df.language.value_counts().to_dict(), "; texts with a topic:",
          f"{df.topics.map(len).gt(0).mean():.0%}", "; with PII:", f"{df.pii_kinds.map(len).gt(0).mean():.1%}")


def quality_row(name: str, texts: list[str], y: np.ndarray, langs: list[str], labels: list[str]) -> tuple:
    lex = [s.label for s in LexiconSentiment().predict(texts, langs)]
    majority = pd.Series(y).mode()[0]
    t0 = time.perf_counter()
    model = LearnedSentiment().fit(texts, y, langs)
    secs = time.perf_counter() - t0
    return (name, len(texts), f1_score(y, [majority] * len(y), labels=labels, average="macro"),
            f1_score(y, lex, labels=labels, average="macro"), model.cv_macro_f1_, secs), model


def main() -> None:
    texts, resp = demo_texts()
    print(f"# momenti text engines benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    if os.environ.get("BENCH_QUALITY", "1") == "0":  # throughput only
        throughput(texts, None)
        return
    rows = []
    sp = pd.read_csv(DATA / "sentipolc2016_train.csv", sep=";")
    sp = sp[~((sp.opos == 1) & (sp.oneg == 1))]
    y = np.where(sp.opos == 1, "positive", np.where(sp.oneg == 1, "negative", "neutral"))
    row, _ = quality_row("SENTIPOLC 2016 train (it, 3 classes)", sp.text.tolist(), y, ["it"] * len(sp),
                         ["negative", "neutral", "positive"])
    rows.append(row)
    lab = resp[((resp.nps <= 6) | (resp.nps >= 9)) & (resp.nps >= 0)].copy()
    lab["y"] = np.where(lab.nps >= 9, "positive", "negative")
    # generated comments repeat: identical texts in both training and test folds would flatter the model, so
    # each distinct text is kept once (texts seen with both labels are dropped)
    conflict = lab.groupby("comment").y.nunique()
    lab = lab[~lab.comment.isin(conflict[conflict > 1].index)].drop_duplicates("comment")
    row, demo_model = quality_row("demo comments by NPS, distinct texts (it+en, 2 classes)", lab.comment.tolist(),
                                  lab.y.to_numpy(), lab.language.tolist(), ["negative", "positive"])
    rows.append(row)
    print("\n## Sentiment quality: macro-F1 (learned: 5-fold cross-validation)")
    print("| data set | texts | majority class | lexicon | learned (CV) | fit + CV seconds |")
    print("|---|---|---|---|---|---|")
    for name, n, maj, lex, cv, secs in rows:
        print(f"| {name} | {n:,} | {maj:.3f} | {lex:.3f} | {cv:.3f} | {secs:.0f} |")
    cf = pd.read_csv(DATA / "cfpb_complaints_sample.csv")["Consumer complaint narrative"].dropna().tolist()
    neg = np.mean([s.label == "negative" for s in LexiconSentiment().predict(cf, ["en"] * len(cf))])
    print(f"CFPB narratives ({len(cf):,}, English complaints): lexicon reads {neg:.0%} as negative")
    throughput(texts, demo_model)


if __name__ == "__main__":
    main()
