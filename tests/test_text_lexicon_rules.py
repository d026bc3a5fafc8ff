"""The cold-start lexicon on real customer text: requests and politeness inside complaints, contrast, emoji and
negative weight, VADER's English words, and the language of short comments (the workspace's default)."""

from __future__ import annotations

from pathlib import Path

import pytest

import momenti
from momenti.core.errors import InputError
from momenti.engines.text.analyze import analyze_batch
from momenti.engines.text.language import detect
from momenti.engines.text.sentiment import LexiconSentiment


def _labels(texts: list[str], lang: str) -> list[str]:
    return [s.label for s in LexiconSentiment().predict(texts, [lang] * len(texts))]


@pytest.mark.parametrize("text", [
    "Please help!",
    "Can you help?",
    "I would appreciate a call back, my flight was cancelled",
    "Thanks for the info but have been trying for over 24hrs",
    "On hold for 2 hours, no response",
    "Could you please assist, I need my refund",
])
def test_english_requests_and_politeness_in_complaints_are_negative(text: str) -> None:
    assert _labels([text], "en") == ["negative"]


@pytest.mark.parametrize("text", [
    "Aiutatemi per favore, la carta è bloccata",
    "Potete aiutarmi?",
    "Grazie per le informazioni ma aspetto da tre giorni",
    "Gentile, però non ha risolto nulla",
])
def test_italian_requests_and_contrast_are_negative(text: str) -> None:
    assert _labels([text], "it") == ["negative"]


def test_praise_and_thanks_outside_a_request_stay_positive() -> None:
    assert _labels(["Thanks, the crew was great!", "Thank you so much, very helpful staff",
                    "Expensive but worth it"], "en") == ["positive"] * 3
    assert _labels(["Grazie mille, operatore gentilissimo", "Ottimo servizio, ma ho una domanda?",
                    "Sei bravissima", "Grande musica ❤"], "it") == ["positive"] * 4
    # a request with a real sentiment word keeps that word: only manners are discounted
    assert _labels(["Can you fix this terrible app?"], "en") == ["negative"]


def test_contrast_with_no_sentiment_word_turns_the_clause_before() -> None:
    lex = LexiconSentiment()
    plain, turned = lex.predict(["Thanks for the info", "Thanks for the info but have been trying for hours"],
                                ["en", "en"])
    assert plain.label == "positive" and turned.label == "negative"


def test_emoji_beyond_the_shipped_list_and_vader_words() -> None:
    # 😭 🤬 🙄 are not in sentiment_emoji.tsv: their English names (VADER's emoji file) carry the valence
    assert _labels(["Volo in ritardo 😭", "Servizio 🤬", "Ancora una volta 🙄"], "it") == ["negative"] * 3
    assert _labels(["Bellissimo viaggio 🤩"], "it") == ["positive"]
    # English words only VADER's lexicon has (not in sentiment_en.tsv)
    assert _labels(["The agent was obnoxious", "What a fiasco", "Superb trip"], "en") == [
        "negative", "negative", "positive"]


def test_negative_words_weigh_more_than_positive_ones() -> None:
    # one positive and one equally strong negative word: blame is often said softly, so it wins
    (s,) = LexiconSentiment().predict(["good and bad"], ["en"])
    assert s.score < 0


def test_short_text_gets_the_default_language() -> None:
    texts = ["Musica stupenda", "Sei bravissima", "👍"]
    assert detect(texts) == ["other", "it", "other"]  # no default: a short text with no sign is "other"
    assert detect(texts, "it") == ["it", "it", "other"]  # no letters: still "other"
    assert detect(["Musica stupenda"], "en") == ["en"]  # the default decides, not a guess
    assert _labels(["Musica stupenda", "Risposta perfetta", "Siamo rimasti delusi"], "it") == [
        "positive", "positive", "negative"]  # feminine and plural forms simplemma does not lemmatise
    df = analyze_batch(["Musica stupenda ❤"], default_lang="it")
    assert df.language.tolist() == ["it"] and df.sentiment.tolist() == ["positive"]


def test_workspace_language_reaches_short_feedback(tmp_path: Path) -> None:
    ws = momenti.open(tmp_path / "data", text_auto=False)
    try:
        ws.import_records("feedback", [
            {"feedback_id": f"F{i}", "source": "review", "text": "Musica stupenda",
             "created_at": "2026-02-01T10:00:00Z"} for i in range(5)])
        report = ws.text_analyze()
        assert "|lang:it|" in report["version"]
        shown = ws.comments()
        assert set(shown.language) == {"it"} and set(shown.sentiment) == {"positive"}
    finally:
        ws.close()
    ws = momenti.open(tmp_path / "data", text_auto=False, text_language="en")
    try:
        assert ws.text_analyze()["total"] == 5  # another default language: the short texts are read again
        assert set(ws.comments().language) == {"en"}
    finally:
        ws.close()
    ws = momenti.open(tmp_path / "data", text_auto=False, text_language="fr")
    try:
        with pytest.raises(InputError, match="MOMENTI_TEXT_LANGUAGE='fr'"):
            ws.text_analyze()
    finally:
        ws.close()
