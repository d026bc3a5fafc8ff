"""The optional transformer sentiment tier: a local Hugging Face sequence-classification model directory.

Only a directory already on disk is ever used (``MOMENTI_TEXT_MODEL_DIR``, e.g. a multilingual sentiment model a
user saved with ``save_pretrained``): the hub is switched offline in-process before ``transformers`` is imported,
every load passes ``local_files_only=True`` and no code from the directory is run (``trust_remote_code`` stays
off). CPU only, batched, no gradients.

Labels. The model's ``config.id2label`` is mapped to momenti's three labels:
    negative, neg, negativo/a, very negative, ...  -> negative
    neutral, neu, neutro/a, neutrale, ...          -> neutral
    positive, pos, positivo/a, very positive, ...  -> positive
    "1 star", "2 stars" -> negative; "3 stars" -> neutral; "4 stars", "5 stars" -> positive
(case, "_" and "-" ignored). Generic names (LABEL_0, LABEL_1, ...) say nothing about meaning, so they are never
guessed: they need a mapping, given as ``label_map`` (label name or id -> negative/neutral/positive) or, for the
pipeline, as ``momenti_labels.json`` in the model directory (``{"LABEL_0": "negative", ...}``); an explicit entry
also overrides a default one. Every label must map somewhere; an unmapped one is an error, not a silent drop.

Per text: the probabilities of the model's labels (softmax) are summed per momenti label; label = the largest,
confidence = its probability, score = P(positive) - P(negative). A blank text gets confidence 0 (nothing to read),
so the next tier answers it. A two-label model (negative/positive) never says neutral: its uncertain texts have a
confidence near 0.5 and fall to the next tier.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from momenti.core.errors import InputError
from momenti.engines.text.sentiment import LABELS, Sentiment

LABELS_FILE = "momenti_labels.json"
SOURCE = "transformer"

_ALIASES = {
    "negative": "negative", "neg": "negative", "negativo": "negative", "negativa": "negative",
    "negatif": "negative", "negativ": "negative", "very negative": "negative", "strongly negative": "negative",
    "neutral": "neutral", "neu": "neutral", "neutro": "neutral", "neutra": "neutral", "neutrale": "neutral",
    "neutre": "neutral", "none": "neutral",
    "positive": "positive", "pos": "positive", "positivo": "positive", "positiva": "positive",
    "positif": "positive", "positiv": "positive", "very positive": "positive", "strongly positive": "positive",
}
_STARS = re.compile(r"^([1-5])\s*stars?$")
_STAR_LABEL = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name).strip().lower())


def default_label(name: str) -> str | None:
    """momenti's label for a model label name, or None when the name does not say (LABEL_0, "mixed", ...)."""
    n = _norm(name)
    if n in _ALIASES:
        return _ALIASES[n]
    m = _STARS.match(n)
    return _STAR_LABEL[int(m[1])] if m else None


def label_mapping(id2label: Mapping[int, str], overrides: Mapping[str | int, str] | None = None) -> list[str]:
    """momenti's label for each of the model's output ids (0..k-1), from the defaults and ``overrides`` (keys: a
    label name as in id2label, or an id as int or string; values: negative/neutral/positive or neg/neu/pos)."""
    over = {}
    for key, value in (overrides or {}).items():
        target = _ALIASES.get(_norm(value))
        if target not in LABELS:
            raise InputError(f"label mapping {key!r}: {value!r}: map to negative, neutral or positive")
        over[str(key) if isinstance(key, int) else _norm(key)] = target
    ids = sorted(int(i) for i in id2label)
    if ids != list(range(len(ids))):
        raise InputError(f"the model's label ids are not 0..{len(ids) - 1}: {ids}")
    out: list[str] = []
    missing: list[str] = []
    for i in ids:
        name = str(id2label[i])
        target = over.get(str(i)) or over.get(_norm(name)) or default_label(name)
        if target is None:
            missing.append(f"{i}={name!r}")
        out.append(target or "")
    if missing:
        raise InputError(f"the model's label(s) {', '.join(missing)} do not say negative, neutral or positive: "
                         f"map them in {LABELS_FILE} in the model directory, e.g. "
                         '{"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}')
    return out


@lru_cache(maxsize=256)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:  # size/mtime in the key: a rewritten file re-hashes
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(model_dir: Path) -> str:
    """A short hash of every file at the top of the model directory (config, weights, tokenizer, label mapping):
    two fine-tuned models of one architecture share config.json but not weights. Each file is hashed once per
    process while its size and modification time stay the same."""
    h = hashlib.sha256()
    for p in sorted(Path(model_dir).iterdir()):
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            h.update(p.name.encode() + b"\0" + _file_digest(str(p), st.st_size, st.st_mtime_ns).encode() + b"\0")
    return h.hexdigest()[:10]


def _import() -> tuple[object, object]:
    """(torch, transformers) imported with the hub offline; InputError naming what is missing."""
    # Before the import: huggingface_hub reads these once. Nothing momenti does may reach the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    missing = []
    mods = {}
    for name in ("torch", "transformers"):
        try:
            mods[name] = __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise InputError(f"the transformer sentiment tier needs the optional package(s) {' and '.join(missing)}: "
                         "pip install 'momenti[models]'")
    return mods["torch"], mods["transformers"]


class TransformerSentiment:
    """Sentiment from a local sequence-classification model directory (never downloaded)."""

    def __init__(self, model_dir: str | Path, batch_size: int = 32, max_length: int = 256,
                 label_map: Mapping[str | int, str] | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.max_length = max_length
        d = self.model_dir
        if not d.is_dir():
            raise InputError(f"{d}: no such model directory")
        if not (d / "config.json").is_file():
            raise InputError(f"{d}: not a model directory (no config.json; save one with save_pretrained)")
        overrides: dict[str | int, str] = {}
        if (d / LABELS_FILE).is_file():
            try:
                loaded = json.loads((d / LABELS_FILE).read_text(encoding="utf-8"))
            except (ValueError, OSError) as e:
                raise InputError(f"{d / LABELS_FILE}: not a JSON object of label -> sentiment ({e})") from e
            if not isinstance(loaded, dict):
                raise InputError(f"{d / LABELS_FILE}: not a JSON object of label -> sentiment")
            overrides.update(loaded)
        overrides.update(label_map or {})
        self.label_map = overrides
        self._torch, transformers = _import()
        bars = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()  # "Loading weights" bars would garble the CLI's output
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(d, local_files_only=True)
            self.model = transformers.AutoModelForSequenceClassification.from_pretrained(d, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(f"{d}: not a loadable sequence-classification model with its tokenizer ({first})") from e
        finally:
            if bars:
                transformers.utils.logging.enable_progress_bar()
        self.model.to("cpu")
        self.model.eval()
        self.id2label = {int(k): str(v) for k, v in self.model.config.id2label.items()}
        self.targets = label_mapping(self.id2label, overrides)
        # columns of the model's output summed into momenti's (negative, neutral, positive)
        self._fold = np.zeros((len(self.targets), len(LABELS)))
        for i, t in enumerate(self.targets):
            self._fold[i, LABELS.index(t)] = 1.0
        self.fingerprint = fingerprint(d)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities of negative, neutral, positive. Texts are batched by length (less padding)."""
        torch = self._torch
        texts = ["" if t is None else str(t) for t in texts]
        out = np.zeros((len(texts), len(LABELS)))
        order = sorted((i for i, t in enumerate(texts) if t.strip()), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt")
                logits = self.model(**enc).logits.float()
                probs = torch.softmax(logits, dim=-1).numpy().astype(np.float64)
                out[idx] = probs @ self._fold
        return out

    def predict(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Sentiment]:
        """One Sentiment per text (``langs`` is accepted for the tier interface; the model reads the text)."""
        proba = self.predict_proba(texts)
        out = []
        for t, row in zip(texts, proba, strict=True):
            if t is None or not str(t).strip():
                out.append(Sentiment("neutral", 0.0, 0.0, SOURCE))
                continue
            k = int(row.argmax())
            out.append(Sentiment(LABELS[k], round(float(row[2] - row[0]), 4), round(float(row[k]), 4), SOURCE))
        return out
