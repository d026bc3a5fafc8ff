"""The optional local transformer sentiment tier (MOMENTI_TEXT_MODEL_DIR).

Every model here is built inside the test: a tiny BERT (1 layer, hidden size 32) with a WordPiece vocabulary
written to a file, trained for a few dozen steps so that it is sure of some texts and deliberately unsure (a
uniform target) of others, then saved with save_pretrained. Nothing is downloaded; the network is cut while
models load.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

pytest.importorskip("transformers", reason="the transformer tier needs the optional 'models' extra")
torch = pytest.importorskip("torch", reason="the transformer tier needs the optional 'models' extra")
import transformers  # noqa: E402

import momenti  # noqa: E402
from momenti.core.errors import InputError  # noqa: E402
from momenti.engines.text.sentiment import LABELS, LexiconSentiment, Sentiment  # noqa: E402
from momenti.engines.text.tiers import TieredSentiment  # noqa: E402
from momenti.engines.text.transformer import TransformerSentiment, default_label, label_mapping  # noqa: E402
from momenti.pipelines.text.models import load_newest, load_transformer  # noqa: E402
from momenti.store.models import TextResult  # noqa: E402

POSITIVE = ["servizio ottimo e operatore gentile", "great service thank you", "app perfetta e veloce"]
NEGATIVE = ["servizio pessimo attesa infinita", "terrible service never again", "app bloccata che vergogna"]
UNSURE = ["ho chiamato la filiale ieri", "i called the branch today"]
WORDS = sorted({w for t in POSITIVE + NEGATIVE + UNSURE for w in t.split()})
STANDARD = {0: "negative", 1: "neutral", 2: "positive"}


def _build(folder: Path, id2label: dict[int, str], examples: Sequence[tuple[str, int | None]], seed: int = 0,
           steps: int = 60) -> Path:
    """Save a tiny sequence-classification model trained on `examples` (label id, or None: a uniform target)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8")
    tok_cls = getattr(transformers, "BertTokenizerFast", None) or transformers.BertTokenizer
    tokenizer = tok_cls.from_pretrained(folder, local_files_only=True)  # reads vocab.txt (transformers 4 and 5)
    assert "[UNK]" not in tokenizer.tokenize(" ".join(WORDS))
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
        max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        num_labels=len(id2label), id2label=id2label, label2id={v: k for k, v in id2label.items()})
    model = transformers.BertForSequenceClassification(config)
    if steps:
        k = len(id2label)
        targets = torch.tensor([[1.0 / k] * k if y is None else [float(i == y) for i in range(k)]
                                for _, y in examples])
        enc = tokenizer([t for t, _ in examples], padding=True, return_tensors="pt")
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        model.train()
        for _ in range(steps):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, targets)
            loss.backward()
            opt.step()
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _examples(neg: int, pos: int) -> list[tuple[str, int | None]]:
    return [(t, neg) for t in NEGATIVE] + [(t, pos) for t in POSITIVE] + [(t, None) for t in UNSURE]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test (models must load from disk only)."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the transformer tier tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("tf") / "model", STANDARD, _examples(0, 2))


# --- the model ---------------------------------------------------------------------------------------------------


def test_loads_offline_and_predicts(model_dir: Path) -> None:
    tf = TransformerSentiment(model_dir)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert tf.targets == ["negative", "neutral", "positive"]
    texts = POSITIVE + NEGATIVE + UNSURE + ["", "   "]
    out = tf.predict(texts)
    proba = tf.predict_proba(texts)
    assert len(out) == len(texts) and proba.shape == (len(texts), 3)
    for s in out:
        assert s.source == "transformer" and s.label in LABELS
        assert -1.0 <= s.score <= 1.0 and 0.0 <= s.confidence <= 1.0
    for s, row in zip(out[:-2], proba[:-2], strict=True):
        assert row.sum() == pytest.approx(1.0)
        assert s.confidence == pytest.approx(row.max(), abs=1e-4)
        assert s.score == pytest.approx(row[2] - row[0], abs=1e-4)
        assert s.label == LABELS[int(row.argmax())]
    assert [s.label for s in out[:3]] == ["positive"] * 3 and [s.label for s in out[3:6]] == ["negative"] * 3
    assert min(s.confidence for s in out[:6]) > 0.9  # trained to be sure of these
    assert max(s.confidence for s in out[6:8]) < 0.5  # and unsure of these (uniform target: ~1/3)
    assert [(s.label, s.confidence) for s in out[-2:]] == [("neutral", 0.0)] * 2  # blank: nothing to read


def test_batching_and_length_ordering_do_not_change_results(model_dir: Path) -> None:
    texts = [POSITIVE[0], "app", NEGATIVE[1] + " " + NEGATIVE[0], UNSURE[0], "ottimo"]
    one = TransformerSentiment(model_dir, batch_size=1).predict_proba(texts)
    many = TransformerSentiment(model_dir, batch_size=32).predict_proba(texts)
    np.testing.assert_allclose(one, many, atol=1e-5)
    short = TransformerSentiment(model_dir, max_length=4).predict_proba([NEGATIVE[0] + " " + POSITIVE[0]])
    cut = TransformerSentiment(model_dir).predict_proba(["servizio pessimo"])  # [CLS] + 2 words + [SEP]
    np.testing.assert_allclose(short, cut, atol=1e-5)


# --- label mapping -----------------------------------------------------------------------------------------------


def test_default_label_names() -> None:
    assert [default_label(v) for v in ("NEG", "Neutral", "POSITIVE", "negativo", "very_negative", "5 stars",
                                       "1 star", "3 stars", "LABEL_0", "mixed")] == [
        "negative", "neutral", "positive", "negative", "negative", "positive", "negative", "neutral", None, None]
    assert label_mapping({0: "NEG", 1: "NEU", 2: "POS"}) == ["negative", "neutral", "positive"]
    assert label_mapping({0: "POSITIVE", 1: "NEGATIVE"}) == ["positive", "negative"]
    assert label_mapping({0: "LABEL_0", 1: "LABEL_1"}, {0: "neg", "label_1": "positive"}) == ["negative", "positive"]
    assert label_mapping({0: "negative", 1: "positive"}, {"negative": "neutral"}) == ["neutral", "positive"]
    with pytest.raises(InputError, match=r"0='LABEL_0'.*momenti_labels.json"):
        label_mapping({0: "LABEL_0", 1: "positive"})
    with pytest.raises(InputError, match="map to negative, neutral or positive"):
        label_mapping({0: "LABEL_0"}, {"LABEL_0": "bad"})


def test_five_star_model_folds_its_probabilities(tmp_path: Path) -> None:
    stars = {i: f"{i + 1} star" + ("s" if i else "") for i in range(5)}
    folder = _build(tmp_path / "stars", stars, _examples(0, 4))
    tf = TransformerSentiment(folder)
    assert tf.targets == ["negative", "negative", "neutral", "positive", "positive"]
    texts = [POSITIVE[0], NEGATIVE[0], UNSURE[0]]
    enc = tf.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        raw = torch.softmax(tf.model(**enc).logits, -1).numpy()
    folded = np.stack([raw[:, 0] + raw[:, 1], raw[:, 2], raw[:, 3] + raw[:, 4]], axis=1)
    np.testing.assert_allclose(tf.predict_proba(texts), folded, atol=1e-5)
    out = tf.predict(texts)
    assert [s.label for s in out[:2]] == ["positive", "negative"]
    assert out[2].confidence == pytest.approx(folded[2].max(), abs=1e-4)


def test_generic_labels_need_a_mapping(tmp_path: Path) -> None:
    folder = _build(tmp_path / "generic", {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, _examples(2, 0))
    with pytest.raises(InputError, match="momenti_labels.json"):
        TransformerSentiment(folder)
    by_arg = TransformerSentiment(folder, label_map={"LABEL_0": "positive", "LABEL_1": "neutral", "LABEL_2": "neg"})
    assert [s.label for s in by_arg.predict([POSITIVE[1], NEGATIVE[1]])] == ["positive", "negative"]
    (folder / "momenti_labels.json").write_text(json.dumps({"0": "positive", "1": "neutral", "2": "negative"}))
    by_file = TransformerSentiment(folder)
    assert by_file.targets == ["positive", "neutral", "negative"]
    assert [s.label for s in by_file.predict([POSITIVE[2], NEGATIVE[2]])] == ["positive", "negative"]


# --- tiers -------------------------------------------------------------------------------------------------------


class _Fixed:
    """A tier that answers each text with a set confidence and records what it was asked."""

    def __init__(self, name: str, confidence: dict[str, float]) -> None:
        self.name, self.confidence, self.seen = name, confidence, []

    def predict(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Sentiment]:
        self.seen.append(list(texts))
        return [Sentiment("positive", 0.5, self.confidence.get(t, 0.0), self.name) for t in texts]


def test_tiers_fall_through_in_order() -> None:
    texts = ["primo testo", "secondo testo", "terzo testo pessimo"]
    first = _Fixed("first", {"primo testo": 0.9, "secondo testo": 0.5})
    second = _Fixed("second", {"secondo testo": 0.7, "terzo testo pessimo": 0.2})
    out = TieredSentiment([first, second], min_confidence=0.6).predict(texts, ["it"] * 3)
    assert [s.source for s in out] == ["first", "second", "lexicon"]
    assert out[2] == LexiconSentiment().predict([texts[2]], ["it"])[0] and out[2].label == "negative"
    assert first.seen == [texts] and second.seen == [texts[1:]]  # a later tier sees only what is left
    per_tier = TieredSentiment([first, second], min_confidence=[0.95, 0.1]).predict(texts, ["it"] * 3)
    assert [s.source for s in per_tier] == ["lexicon", "second", "second"]
    assert TieredSentiment([first]).model is first and TieredSentiment(None).model is None
    with pytest.raises(ValueError, match="2 tiers but 1"):
        TieredSentiment([first, second], min_confidence=[0.5])


def test_transformer_tier_falls_back_under_the_threshold(model_dir: Path) -> None:
    tf = TransformerSentiment(model_dir)
    texts = POSITIVE[:1] + NEGATIVE[:1] + UNSURE[:1]
    assert [s.source for s in TieredSentiment([tf]).predict(texts, ["it"] * 3)] == [
        "transformer", "transformer", "lexicon"]
    assert {s.source for s in TieredSentiment([tf], min_confidence=1.01).predict(texts, ["it"] * 3)} == {"lexicon"}
    assert {s.source for s in TieredSentiment([tf], min_confidence=0.0).predict(texts, ["it"] * 3)} == {
        "transformer"}


# --- the pipeline ------------------------------------------------------------------------------------------------


def _records(texts: Sequence[str], start: int) -> list[dict]:
    return [{"feedback_id": f"F{start + i}", "source": "review", "text": t, "created_at": "2026-02-01T10:00:00Z",
             "touchpoint": "card-block", "customer_id": f"C{start + i}", "language": "it"}
            for i, t in enumerate(texts)]


def _sources(ws: momenti.Workspace) -> dict[str, tuple[str, str]]:
    with ws.session() as s:
        rows = list(s.scalars(select(TextResult)))
    return {r.masked_text: (r.sentiment, r.sentiment_source) for r in rows}


@pytest.fixture
def data_dir(tmp_path: Path, bank_journey: Path) -> Iterator[Path]:
    ws = momenti.open(tmp_path / "data", text_auto=False)
    ws.apply_journey(bank_journey)
    ws.import_records("feedback", _records(POSITIVE + NEGATIVE + UNSURE, 0))
    ws.close()
    yield tmp_path / "data"


def test_pipeline_uses_the_transformer_first(data_dir: Path, model_dir: Path, tmp_path: Path) -> None:
    ws = momenti.open(data_dir, text_model_dir=model_dir)
    report = ws.text_analyze()
    assert report["total"] == 8 and "|sent:tf-" in report["version"]
    got = _sources(ws)
    assert {t: got[t] for t in POSITIVE} == {t: ("positive", "transformer") for t in POSITIVE}
    assert {t: got[t] for t in NEGATIVE} == {t: ("negative", "transformer") for t in NEGATIVE}
    assert {got[t][1] for t in UNSURE} == {"lexicon"}  # the model is not sure: the next tier answers
    assert ws.text_analyze()["total"] == 0  # same model: nothing to redo
    ws.close()

    other = _build(tmp_path / "other", STANDARD, _examples(0, 2), seed=1)
    ws = momenti.open(data_dir, text_model_dir=other)
    again = ws.text_analyze()
    assert again["total"] == 8 and again["replaced"] == 8 and again["version"] != report["version"]
    ws.close()
    (other / "momenti_labels.json").write_text(json.dumps({"negative": "neutral"}))  # a new mapping: new results
    ws = momenti.open(data_dir, text_model_dir=other)
    remapped = ws.text_analyze()
    assert remapped["total"] == 8 and remapped["version"] not in (again["version"], report["version"])
    assert {_sources(ws)[t] for t in NEGATIVE} == {("neutral", "transformer")}
    ws.close()

    ws = momenti.open(data_dir)  # the setting removed: back to the lexicon
    off = ws.text_analyze()
    assert off["total"] == 8 and off["version"].endswith("|sent:lexicon")
    assert {v[1] for v in _sources(ws).values()} == {"lexicon"}
    ws.close()


def test_load_newest_puts_the_transformer_before_the_learned_model(model_dir: Path, tmp_path: Path) -> None:
    ws = momenti.open(tmp_path / "data", text_model_dir=model_dir)
    tiers, ident = load_newest(ws.settings)
    assert isinstance(tiers, list) and [type(t).__name__ for t in tiers] == ["TransformerSentiment"]
    assert ident == f"tf-{tiers[0].fingerprint}"
    assert load_transformer(model_dir) is tiers[0]  # loaded once per process
    ws.close()
    plain = momenti.open(tmp_path / "data2")
    assert load_newest(plain.settings) == (None, None)  # no setting, no trained model: the lexicon alone
    plain.close()


# --- errors ------------------------------------------------------------------------------------------------------


def test_missing_directory_is_a_clear_error(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = momenti.open(data_dir, text_model_dir=tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"MOMENTI_TEXT_MODEL_DIR: .*nowhere: no such directory"):
        ws.text_analyze()
    ws.close()
    from momenti.cli.main import app

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MOMENTI_TEXT_MODEL_DIR", str(tmp_path / "nowhere"))
    res = CliRunner().invoke(app, ["text", "analyze"])  # main() prints an InputError and exits with 2
    assert res.exit_code != 0 and isinstance(res.exception, InputError)
    assert "MOMENTI_TEXT_MODEL_DIR" in str(res.exception) and "no such directory" in str(res.exception)


def test_invalid_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a model")
    with pytest.raises(InputError, match=r"MOMENTI_TEXT_MODEL_DIR: .*no config.json"):
        load_transformer(empty)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "bert", "num_labels": 3}))
    with pytest.raises(InputError, match=r"MOMENTI_TEXT_MODEL_DIR: .*not a loadable sequence-classification"):
        load_transformer(broken)


def test_missing_package_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _build(tmp_path / "m", STANDARD, [], steps=0)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(InputError, match=r"MOMENTI_TEXT_MODEL_DIR: .*optional package\(s\) torch: pip install"):
        load_transformer(folder)
