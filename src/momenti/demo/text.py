"""Compose customer texts from the fragments in ``text_it`` / ``text_en``.

A text is built from parts (opening, statement about a topic, details, maybe a second topic, closing) and then
written in a style (formal, plain, casual, rant). Every choice is random but seeded, so the same seed gives the
same texts. The goal is text that a topic model and a sentiment model can learn from the way they would from
real customers: the topic words are real words, the polarity is carried by real phrasing, and the noise (typos,
abbreviations, emoji, capitals) is the noise real feedback has.
"""

from __future__ import annotations

import random
import re
from types import ModuleType

import momenti.demo.text_en as text_en
import momenti.demo.text_it as text_it

EMOJI = {
    "neg": ("😡", "🤬", "👎", "😤", "🙄", "😠", "🤦‍♂️", "🤦‍♀️", "😩", "💸"),
    "pos": ("👍", "😊", "🙏", "👏", "💪", "😍", "🔝", "✨", "🥳", "❤️"),
    "mixed": ("🤷‍♂️", "😐", "🤔", "😕", "🤷‍♀️"),
}

# How each kind of text is usually written: style weights (formal, plain, casual, rant), chance of an opening,
# number of details (min, max) and chance of a closing.
_STYLE = {
    "comment": ((0.0, 0.50, 0.45, 0.05), 0.12, (0, 1), 0.15),
    "review": ((0.0, 0.45, 0.40, 0.15), 0.50, (1, 2), 0.55),
    "social": ((0.0, 0.15, 0.60, 0.25), 0.25, (0, 1), 0.30),
    "complaint": ((0.60, 0.15, 0.17, 0.08), 0.30, (1, 3), 0.40),
    "email": ((0.65, 0.20, 0.15, 0.0), 0.20, (1, 2), 0.30),
}
_STYLES = ("formal", "plain", "casual", "rant")
_SLOT = re.compile(r"\{(\w+)\}")
_WORD = re.compile(r"[^\W\d_]{4,}")
_RELEASE_VERSIONS = ("7.4", "7.4.0", "7.4.1", "7.4 ")


class Composer:
    """Writes feedback texts and survey comments; one instance per generation (it carries the random state)."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self._materials: dict[str, ModuleType] = {"it": text_it, "en": text_en}
        self._abbrev = {
            lang: (re.compile(r"\b(" + "|".join(re.escape(w) for w, _ in m.ABBREVIATIONS) + r")\b"),
                   dict(m.ABBREVIATIONS))
            for lang, m in self._materials.items()
        }

    # -- public ------------------------------------------------------------------------------------------------
    def compose(
        self, lang: str, kind: str, polarity: str, topic: str, topic2: str | None = None, release: bool = False
    ) -> str:
        """One text. ``polarity`` is neg / pos / mixed; ``topic2`` is the other side of a mixed text."""
        m = self._materials[lang]
        r = self.r
        style_w, p_open, (dmin, dmax), p_close = _STYLE[kind]
        if polarity != "neg":
            style_w = (style_w[0], style_w[1], style_w[2] + style_w[3], 0.0)
        style = r.choices(_STYLES, style_w)[0]
        if kind == "comment" and r.random() < 0.16:
            return self._style(r.choice(m.SHORT[polarity]), lang, style if style != "formal" else "plain", polarity)

        parts: list[str] = []
        if style == "formal" and kind in m.FORMAL_OPENINGS:
            parts.append(r.choice(m.FORMAL_OPENINGS[kind]))
        elif r.random() < p_open:
            parts.append(r.choice(m.OPENINGS[polarity]))

        parts.append(self._core(m, polarity, topic, topic2, release))
        n_details = r.randint(dmin, dmax)
        side = "neg" if polarity == "mixed" else polarity
        detail_topic = (topic2 or topic) if polarity == "mixed" else topic
        details = m.TOPICS[detail_topic][side + "_detail"]
        for detail in r.sample(details, min(n_details, len(details))):
            parts.append(detail)
        if release and topic == "app" and polarity != "pos" and r.random() < 0.5:
            parts.append(_cap(r.choice(m.RELEASE)) + ".")
        if topic2 and polarity != "mixed" and r.random() < 0.3:
            parts.append(_cap(r.choice(m.TOPICS[topic2][polarity])) + ".")

        if style == "formal" and kind in m.FORMAL_CLOSINGS:
            parts.append(r.choice(m.FORMAL_CLOSINGS[kind]))
        elif r.random() < p_close:
            parts.append(r.choice(m.CLOSINGS[polarity]))

        sep = "\n" if style == "formal" and r.random() < 0.5 else " "
        text = self._fill(sep.join(parts), lang)
        text = self._style(text, lang, style, polarity)
        if kind == "social":
            if r.random() < 0.35:
                text = f"{m.MENTION} {text}"
            if r.random() < 0.3:
                text = text + " " + " ".join(r.sample(m.HASHTAGS, r.randint(1, 2)))
        return text

    def review_rating(self, polarity: str) -> int:
        r = self.r.random()
        if polarity == "neg":
            return 1 if r < 0.65 else 2
        if polarity == "pos":
            return 5 if r < 0.65 else 4
        return 3 if r < 0.6 else (2 if r < 0.8 else 4)

    # -- parts -------------------------------------------------------------------------------------------------
    def _core(self, m: ModuleType, polarity: str, topic: str, topic2: str | None, release: bool) -> str:
        r = self.r
        if polarity == "mixed":
            good = r.choice(m.TOPICS[topic]["pos"])
            bad = r.choice(m.TOPICS[topic2 or topic]["neg"])
            if r.random() < 0.6:
                return _cap(good) + r.choice(m.CONNECTORS["neg"]) + _uncap(bad) + "."
            return _cap(bad) + r.choice(m.CONNECTORS["pos"]) + _uncap(good) + "."
        if release and topic == "app" and polarity == "neg" and r.random() < 0.6:
            statement = r.choice(m.RELEASE)
        else:
            statement = r.choice(m.TOPICS[topic][polarity])
        if polarity == "neg" and r.random() < 0.15:
            return r.choice(m.WRAPPERS_NEG).replace("{s}", statement)
        end = "!" if polarity == "pos" and r.random() < 0.3 else "."
        return _cap(statement) + end

    def _fill(self, text: str, lang: str) -> str:
        r = self.r
        slots = self._materials[lang].SLOTS
        seen: dict[str, str] = {}  # one value per slot and text: the same wait is not 47 and then 92 minutes

        def value(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in seen:
                seen[key] = draw(key)
            return seen[key]

        def draw(key: str) -> str:
            if key in slots:
                return r.choice(slots[key])
            if key == "min":
                return str(r.choice((15, 20, 25, 30, 35, 40, 45, 50, 60, 75, 90)) + r.randint(0, 4))
            if key == "short_min":
                return str(r.randint(2, 5))
            if key == "days":
                return str(r.randint(4, 30))
            if key == "short_days":
                return str(r.randint(2, 5))
            if key == "amount":
                return _amount(r, lang)
            if key == "n":
                return str(r.randint(2, 7))
            if key == "years":
                return str(r.choice((2, 3, 5, 8, 10, 12, 15, 20, 25, 30)))
            if key == "age":
                return str(r.randint(68, 86))
            if key == "km":
                return str(r.randint(6, 30))
            if key == "months":
                return str(r.randint(2, 7))
            if key == "version":
                return r.choice(_RELEASE_VERSIONS).strip()
            if key == "errcode":
                return r.choice(("E-104", "500", "AUTH_03", "0x80", "401", "E17"))
            return "{" + key + "}"

        return _SLOT.sub(value, text)

    # -- style -------------------------------------------------------------------------------------------------
    def _style(self, text: str, lang: str, style: str, polarity: str) -> str:
        r = self.r
        if style in ("formal", "plain"):
            if style == "plain" and r.random() < 0.15:
                text = text + " " + r.choice(EMOJI[polarity])
            return text
        m = self._materials[lang]
        pattern, table = self._abbrev[lang]
        p_abbrev = 0.3 if style == "casual" else 0.2
        text = pattern.sub(lambda mt: r.choice(table[mt.group(1)]) if r.random() < p_abbrev else mt.group(1), text)
        if r.random() < 0.35:
            for full, plain in m.ACCENT_DROPS:
                text = text.replace(full, plain)
        text = _WORD.sub(lambda mt: _typo(r, mt.group(0)) if r.random() < 0.035 else mt.group(0), text)
        if style == "rant":
            text = text.upper() if r.random() < 0.75 else text
            text = re.sub(r"[.!]+(\s|$)", lambda mt: "!" * r.randint(2, 5) + mt.group(1), text)
            if r.random() < 0.6:
                text += " " + r.choice(EMOJI["neg"]) * r.randint(1, 3)
            return text
        # casual
        if r.random() < 0.5:
            text = text[:1].lower() + text[1:]
        if r.random() < 0.4:
            text = text.rstrip(".")
        if r.random() < 0.25 and polarity == "neg":
            text = re.sub(r"\?(\s|$)", lambda mt: "?" * r.randint(2, 4) + mt.group(1), text)
            text = re.sub(r"\.(\s|$)", lambda mt: "..." + mt.group(1), text, count=1)
        if r.random() < 0.2 and polarity in m.INTERJECTIONS:
            word = r.choice(m.INTERJECTIONS[polarity])
            text = f"{word} {text}" if r.random() < 0.5 else f"{text} {word}"
        if r.random() < 0.4:
            text += " " + r.choice(EMOJI[polarity]) * (1 if r.random() < 0.7 else 2)
        return text


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _uncap(s: str) -> str:
    # Keep acronyms and names (OTP, I, Giulia) as they are.
    if len(s) > 1 and (s[1].isupper() or s.split(" ", 1)[0] in ("I", "I'm", "I've")):
        return s
    return s[:1].lower() + s[1:]


def _amount(r: random.Random, lang: str) -> str:
    if r.random() < 0.5:
        value = r.choice((2, 3, 5, 7, 12, 15, 18, 25, 35, 40, 60, 90, 120, 150, 250, 480, 1200))
        return str(value)
    cents = r.randint(100, 25000)
    text = f"{cents // 100}.{cents % 100:02d}"
    return text.replace(".", ",") if lang == "it" else text


def _typo(r: random.Random, word: str) -> str:
    i = r.randint(1, len(word) - 2)
    op = r.random()
    if op < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op < 0.7:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]
