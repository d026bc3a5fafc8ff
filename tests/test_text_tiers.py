"""Sentiment tiers: once a model is trained its answer counts; the lexicon is the cold start, not the arbiter."""

from __future__ import annotations

import random

from sklearn.metrics import f1_score

from momenti.engines.text.analyze import analyze_batch
from momenti.engines.text.learned import LearnedSentiment
from momenti.engines.text.sentiment import LexiconSentiment
from momenti.engines.text.tiers import TieredSentiment

# The company's own vocabulary: what makes these comments good or bad is mostly not in a general lexicon
# ("pratica sbloccata", "ancora fermo"), and polite words ride along in complaints ("grazie comunque").
_POS = ["pratica sbloccata in giornata", "rimborso arrivato subito", "consegna anticipata",
        "carta arrivata in due giorni",
        "problema risolto alla prima chiamata", "bonifico accreditato subito"]
_NEG = ["pratica ancora ferma", "rimborso mai arrivato", "consegna rimandata tre volte", "carta ancora bloccata",
        "ho chiamato cinque volte", "bonifico sparito da una settimana"]
_NEU = ["vorrei sapere gli orari della filiale", "ho cambiato indirizzo", "chiedo informazioni sul mutuo",
        "ho aperto il conto a marzo", "uso l'app da un anno", "sono cliente dal 2019"]
# Comments a rater reads one way or the other: mostly negative, so the model's best guess is right more often
# than not, but it is unsure (p ~ 0.55); their polite tail fools the lexicon.
_MOSTLY_NEG = ["pratica chiusa dopo la seconda richiesta", "mi hanno richiamato il giorno dopo",
               "risposta arrivata per email"]
_TAIL = ["", " grazie comunque", " bravi", " ok", " che dire", " pessima giornata", " buona serata", " grazie mille"]


def _labelled(n: int, seed: int, noise: float = 0.2) -> tuple[list[str], list[str]]:
    """Comments built from the company's phrases plus misleading polite or moody tails, with label noise (a
    rater's disagreement), so that the model is unsure of many texts and the lexicon is often wrong."""
    rnd = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        if rnd.random() < 0.4:
            label = rnd.choices(["negative", "positive", "neutral"], weights=[0.55, 0.25, 0.2])[0]
            texts.append((rnd.choice(_MOSTLY_NEG) + rnd.choice(_TAIL[1:])).capitalize())
            labels.append(label)
            continue
        label = rnd.choice(["positive", "negative", "neutral"])
        pool = {"positive": _POS, "negative": _NEG, "neutral": _NEU}[label]
        text = rnd.choice(pool) + rnd.choice(_TAIL)
        if rnd.random() < noise:
            label = rnd.choice(["positive", "negative", "neutral"])
        texts.append(text[0].upper() + text[1:])
        labels.append(label)
    return texts, labels


def test_pipeline_with_a_trained_model_is_as_good_as_the_model_alone() -> None:
    train_x, train_y = _labelled(900, seed=1)
    test_x, test_y = _labelled(600, seed=2)  # held out: other draws, other noise
    model = LearnedSentiment().fit(train_x, train_y, ["it"] * len(train_x), cv=False)
    alone = f1_score(test_y, [s.label for s in model.predict(test_x, ["it"] * len(test_x))], average="macro")
    df = analyze_batch(test_x, ["it"] * len(test_x), sentiment=TieredSentiment(model))
    piped = f1_score(test_y, df.sentiment.tolist(), average="macro")
    lexicon = f1_score(test_y, [s.label for s in LexiconSentiment().predict(test_x, ["it"] * len(test_x))],
                       average="macro")
    assert lexicon < alone - 0.1, (lexicon, alone)  # the set does tell a good tier from a poor one
    assert piped >= alone - 1e-9, (piped, alone)
    assert set(df.sentiment_source) == {"model"}  # the model's answer counts, sure or not


def test_explicit_threshold_still_hands_unsure_texts_to_the_lexicon() -> None:
    train_x, train_y = _labelled(300, seed=3)
    model = LearnedSentiment().fit(train_x, train_y, ["it"] * len(train_x), cv=False)
    probe = train_x[:60]
    proba = model.predict_proba(probe, ["it"] * len(probe)).max(axis=1)
    out = TieredSentiment(model, min_confidence=0.6).predict(probe, ["it"] * len(probe))
    assert [s.source for s in out] == ["model" if p >= 0.6 else "lexicon" for p in proba]
    assert TieredSentiment(model).thresholds == [0.0]
