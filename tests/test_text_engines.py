"""Text engines (momenti.engines.text):
language, lexicon and learned sentiment, topics, aspects, discovery, analyze_batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from momenti.core.errors import InputError
from momenti.engines.text import discovery
from momenti.engines.text.analyze import COLUMNS, analyze_batch
from momenti.engines.text.aspects import aspects
from momenti.engines.text.language import detect
from momenti.engines.text.learned import LearnedSentiment
from momenti.engines.text.sentiment import LexiconSentiment
from momenti.engines.text.tiers import TieredSentiment
from momenti.engines.text.topics import Taxonomy, discover


# --- language ------------------------------------------------------------------------------------------------------
def test_language_short_and_long_texts() -> None:
    texts = [
        "Operatore gentilissimo ma ho aspettato quaranta minuti al telefono prima di parlare con qualcuno.",
        "The app keeps crashing every time I try to log in, and nobody answers the phone.",
        "grazie", "Servizio pessimo", "terrible service", "thanks a lot", "tutto ok", "ok",
        "Bonjour, je voudrais savoir pourquoi ma carte est bloquée depuis hier.",
        "Hola, quiero cerrar mi cuenta porque las comisiones son muy altas.",
        "", "👍",
    ]
    assert detect(texts) == ["it", "en", "it", "it", "en", "en", "it", "other", "other", "other", "other", "other"]
    assert detect([]) == []


# --- lexicon -------------------------------------------------------------------------------------------------------
def _lex(texts: list[str], lang: str) -> list:
    return LexiconSentiment().predict(texts, [lang] * len(texts))


def test_lexicon_polarity_negation_and_modifiers() -> None:
    it = _lex(["servizio ottimo", "servizio pessimo", "non è male", "non mi hanno aiutato", "l'app non funziona",
               "operatore gentile", "operatore molto gentile", "operatore un po' scortese", "operatore scortese",
               "ho aperto il conto ieri"], "it")
    labels = [s.label for s in it]
    assert labels[:5] == ["positive", "negative", "positive", "negative", "negative"]
    assert it[2].score < it[0].score  # "non è male" is only mildly good
    assert it[6].score > it[5].score > 0  # intensifier
    assert it[7].score > it[8].score and it[8].score < 0  # diminisher softens
    assert labels[9] == "neutral" and it[9].confidence == 0.5  # no evidence
    assert all(s.source == "lexicon" and -1 <= s.score <= 1 and 0 <= s.confidence <= 1 for s in it)
    en = _lex(["not bad at all", "they did not help me", "very helpful staff", "slightly slow", "slow",
               "I don't recommend this bank"], "en")
    assert [s.label for s in en[:3]] == ["positive", "negative", "positive"]
    assert en[2].score > 0.5 and en[3].score > en[4].score
    assert en[5].label == "negative"


def test_lexicon_emoji_slang_and_contrast() -> None:
    r = _lex(["👍", "😡😡", "top", "una schifezza", "wtf", "servizio top 👍"], "other")
    assert [s.label for s in r] == ["positive", "negative", "positive", "negative", "negative", "positive"]
    it = _lex(["il servizio è lento ma l'operatore è stato gentilissimo",
               "l'operatore è stato gentilissimo ma il servizio è lentissimo",
               "anche se l'operatore è stato gentile, il problema non è stato risolto",
               "PESSIMO", "pessimo", "pessimo!!!"], "it")
    assert it[0].label == "positive" and it[1].label == "negative"  # the part after "ma" weighs more
    assert it[2].label == "negative"  # the concessive clause weighs less
    assert it[3].score < it[4].score and it[5].score < it[4].score  # capitals and "!" intensify
    en = _lex(["The staff were friendly but the fees are outrageous", "Fees are high, however the staff is great"],
              "en")
    assert en[0].label == "negative" and en[1].label == "positive"


# --- learned and tiered --------------------------------------------------------------------------------------------
def _sentipolc(shared_data: Path, n: int = 2400) -> tuple[list[str], np.ndarray]:
    df = pd.read_csv(shared_data / "sentipolc2016_train.csv", sep=";")
    df = df[~((df.opos == 1) & (df.oneg == 1))]  # mixed polarity dropped: the model has three classes
    df = df.sample(n=n, random_state=1)
    labels = np.where(df.opos == 1, "positive", np.where(df.oneg == 1, "negative", "neutral"))
    return df.text.tolist(), labels


def test_learned_cv_beats_majority_and_roundtrips(shared_data: Path, tmp_path: Path) -> None:
    texts, y = _sentipolc(shared_data)
    model = LearnedSentiment().fit(texts, y, ["it"] * len(texts))
    majority = f1_score(y, [pd.Series(y).mode()[0]] * len(y), average="macro")
    assert model.classes_ == ["negative", "neutral", "positive"]
    assert model.cv_macro_f1_ > majority + 0.25, (model.cv_macro_f1_, majority)
    assert model.cv_macro_f1_ == pytest.approx(f1_score(y, model.cv_predictions_, average="macro"))
    probe = ["che schifo di servizio, vergognoso", "grazie mille, bellissima giornata", texts[0]]
    before = model.predict(probe, ["it"] * 3)
    assert before[0].label == "negative" and before[1].label == "positive"
    assert all(s.source == "model" for s in before)
    path = model.save(tmp_path / "models" / "sentiment-v1.joblib")
    again = LearnedSentiment.load(path)
    assert again.predict(probe, ["it"] * 3) == before and again.cv_macro_f1_ == model.cv_macro_f1_
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    with pytest.raises(Exception):  # noqa: B017 - joblib raises its own unpickling errors
        LearnedSentiment.load(tmp_path / "junk.joblib")
    with pytest.raises(InputError):
        LearnedSentiment.load(tmp_path / "missing.joblib")

    # tiered: a threshold above 1 never trusts the model, 0 always does; in between the source says which
    langs = ["it"] * 3
    assert {s.source for s in TieredSentiment(model, min_confidence=1.01).predict(probe, langs)} == {"lexicon"}
    assert {s.source for s in TieredSentiment(model, min_confidence=0.0).predict(probe, langs)} == {"model"}
    # the tier hands the model the lexicon features it already computed: same probabilities as the pipeline's
    from momenti.engines.text.learned import lexicon_row
    from momenti.engines.text.sentiment import clause_scores
    from momenti.engines.text.tokens import doc

    docs = [doc(t, "it") for t in texts[:50]]
    rows = [lexicon_row(d, clause_scores(d)[0]) for d in docs]
    np.testing.assert_allclose(model.predict_proba(texts[:50], ["it"] * 50, lexicon_rows=rows),
                               model.predict_proba(texts[:50], ["it"] * 50))
    mixed = TieredSentiment(model, min_confidence=0.6).predict(texts[:200], ["it"] * 200)
    proba = model.predict_proba(texts[:200], ["it"] * 200).max(axis=1)
    assert [s.source for s in mixed] == ["model" if p >= 0.6 else "lexicon" for p in proba]


def test_learned_rejects_bad_input() -> None:
    with pytest.raises(InputError):
        LearnedSentiment().fit(["a", "b", "c"], ["x", "x", "x"], ["it"] * 3)
    with pytest.raises(InputError):
        LearnedSentiment().fit(["a", "b"], ["x"], ["it"] * 2)
    with pytest.raises(InputError):
        LearnedSentiment().predict(["ciao"], ["it"])


# --- topics and aspects --------------------------------------------------------------------------------------------
def test_taxonomies_multilabel_matching() -> None:
    bank = Taxonomy.load("bank")
    keys = bank.keys
    assert {"attesa", "cortesia", "app", "commissioni", "carta", "rimborso", "bonifico", "filiale", "mutuo",
            "chiusura_conto", "frodi"} <= set(keys)
    assert all(set(t) == {"key", "label_it", "label_en"} for t in bank.topics)
    got = bank.match([
        "Mi hanno bloccato la carta e l'app non si apre",
        "Commissioni altissime, chiudo il conto e cambio banca",
        "My card was declined and I waited two hours on hold",
        "ho ricevuto il rimborso del bonifico",
        "bella giornata",
    ], ["it", "it", "en", "it", "it"])
    assert set(got[0]) >= {"carta", "app"}
    assert set(got[1]) >= {"commissioni", "chiusura_conto"}
    assert set(got[2]) >= {"carta", "attesa"}
    assert set(got[3]) >= {"rimborso", "bonifico"}
    assert got[4] == []
    assert Taxonomy.load("telco").match(["la fibra è lentissima"], ["it"]) == [["internet"]]
    assert "bagagli" in Taxonomy.load("airline").match(["they lost my luggage"], ["en"])[0]


def test_taxonomy_user_file_promote_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    bank = Taxonomy.load("bank")
    assert bank.match(["il cashback non è stato accreditato"], ["it"]) == [["bonifico"]]
    new = bank.promote("cashback", "Cashback", "Cashback", {"it": ["cashback"], "en": ["cashback", "cash back"]},
                       path)
    assert path.is_file() and new.keys[-1] == "cashback" and new.keys[:-1] == bank.keys
    reloaded = Taxonomy.load(str(path))
    assert reloaded.match(["il cashback non è stato accreditato", "no cash back"], ["it", "en"]) == \
        [["bonifico", "cashback"], ["cashback"]]
    with pytest.raises(InputError):
        reloaded.promote("cashback", "x", "x", ["x"], path)
    with pytest.raises(InputError):
        Taxonomy.load(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics:\n  - key: a\n    label_it: A\n", encoding="utf-8")
    with pytest.raises(InputError):
        Taxonomy.load(str(bad))


def test_aspects_split_sentiment_by_topic() -> None:
    bank = Taxonomy.load("bank")
    got = {t: (lab, s) for t, lab, s in aspects("operatore gentilissimo ma ho aspettato 40 minuti", "it", bank)}
    assert got["cortesia"][0] == "positive" and got["attesa"][0] == "negative"
    got = {t: lab for t, lab, _ in aspects("The app is great but the fees are ridiculous", "en", bank)}
    assert got == {"app": "positive", "commissioni": "negative"}
    got = {t: lab for t, lab, _ in aspects(
        "la filiale è sempre pulita e il personale è gentile, ma il mutuo mi è costato un occhio con spese assurde",
        "it", bank)}
    assert got["filiale"] == "positive" and got["mutuo"] == "negative"


def test_discover_on_cfpb_narratives(shared_data: Path) -> None:
    df = pd.read_csv(shared_data / "cfpb_complaints_sample.csv")
    texts = df["Consumer complaint narrative"].dropna().tolist()
    topics = discover(texts, ["en"] * len(texts), n_topics=8, seed=0)
    assert list(topics.columns[:4]) == ["topic", "label", "size", "share"]
    assert {"top_terms", "keywords"} <= set(topics.columns)
    assert len(topics) == 8 and topics["size"].sum() <= len(texts) and topics["size"].is_monotonic_decreasing
    terms = [set(" ".join(t).split()) for t in topics.top_terms]
    assert any({"credit", "report"} <= t for t in terms)
    assert any({"debt"} <= t for t in terms)
    assert all(len(k) > 0 for k in topics.keywords)
    again = discover(texts, ["en"] * len(texts), n_topics=8, seed=0)
    pd.testing.assert_frame_equal(topics, again)  # seeded: same topics
    with pytest.raises(InputError):
        discover(["ciao"] * 3, ["it"] * 3)


# --- analyze_batch -------------------------------------------------------------------------------------------------
def test_analyze_batch_contract() -> None:
    texts = ["Operatore gentilissimo ma ho aspettato 40 minuti!", "mi chiamo Giulia Bianchi, 333 1234567",
             None, "The app keeps crashing 😡", "ok", "Servizio top 👍"]
    df = analyze_batch(texts, ["it", None, None, "en", None, "xx"], names=["Bianchi"])
    assert list(df.columns) == COLUMNS and len(df) == len(texts)
    # None or an unknown code ("xx") means: detect
    assert df.language.tolist() == ["it", "it", "other", "en", "other", "it"]
    assert df.masked_text[1] == "mi chiamo [NAME], [PHONE]" and df.pii_kinds[1] == ["name", "phone"]
    assert df.masked_text[2] == "" and df.topics[2] == [] and df.sentiment[2] == "neutral"
    assert df.sentiment[3] == "negative" and "app" in df.topics[3]
    assert df.sentiment[5] == "positive"
    assert set(df.sentiment_source) == {"lexicon"}
    first = {a["topic"]: a["sentiment"] for a in df.aspects[0]}
    assert first["cortesia"] == "positive" and first["attesa"] == "negative"
    assert set(df.topics[0]) == {a["topic"] for a in df.aspects[0]}
    assert all(isinstance(k, list) for k in df.keywords) and "aspettare" in df.keywords[0]
    assert "name" not in " ".join(df.keywords[1])  # placeholders are never keywords
    # order is kept: the same texts reversed give the same rows reversed
    rev = analyze_batch(texts[::-1], ["it", None, None, "en", None, "xx"][::-1], names=["Bianchi"])
    pd.testing.assert_frame_equal(rev.iloc[::-1].reset_index(drop=True), df)
    assert analyze_batch([]).shape == (0, len(COLUMNS))
    with pytest.raises(ValueError):
        analyze_batch(["a", "b"], ["it"])


def test_analyze_batch_sector_and_taxonomy_choice(tmp_path: Path) -> None:
    text = ["il volo è stato cancellato e la valigia è andata persa"]
    assert set(analyze_batch(text, ["it"], sector="airline").topics[0]) == {"cancellazione", "bagagli"}
    assert analyze_batch(text, ["it"], sector="bank").topics[0] == []
    custom = Taxonomy.load("telco")
    assert analyze_batch(["la fibra non va"], ["it"], taxonomy=custom).topics[0] == ["internet"]


def test_taxonomy_covers_demo_comments() -> None:
    """The shipped bank taxonomy finds a topic in most demo comments (they are written about known topics)."""
    from momenti.demo import generate

    data = generate("small", seed=42)
    comments = [c for c in data.responses.column("comment").to_pylist() if c]
    df = analyze_batch(comments)
    share = df.topics.map(len).gt(0).mean()
    assert share > 0.75, share
    assert df.language.isin(["it", "en"]).mean() > 0.9


def test_discovery_keywords_skip_masked_text() -> None:
    """Placeholders left by masking ([EMAIL], [NAME]) and XXXX redactions are never a topic's keywords."""
    texts = ["ho scritto a [EMAIL] per il bonifico bloccato", "chiamato [NAME] per il bonifico bloccato",
             "bonifico bloccato da XXXX giorni, scritto a [EMAIL]", "il bonifico resta bloccato, XX/XX/XXXX"] * 5
    words = " ".join(discovery._yake(texts, "it", top=8))
    assert "bonifico" in words
    assert not any(w in words for w in ("email", "name", "xxxx", "xx"))
