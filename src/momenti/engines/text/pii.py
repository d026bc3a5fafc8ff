"""PII masking: every finding is replaced by a placeholder before a text is shown, exported or modelled.

Detectors run in a fixed order and a later one never takes characters an earlier one took, so a valid IBAN is
not also reported as a card and a phone, and a codice fiscale is not half a name. Numbers are confirmed by their
checksums where they have one (IBAN mod-97, card Luhn, codice fiscale check letter, partita IVA check digit): a
16-digit order number that fails Luhn stays in the text. Phones are matched by their Italian and international
shapes and then rejected when they look like a date or an amount.

Precision over recall for names: a capitalised word is a name only after a cue ("mi chiamo", "signora", "Mr",
"operatore" + a known first name) or as a known first name followed by a capitalised surname; the configurable
``names`` list (e.g. the company's staff) is matched wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

PLACEHOLDER = {
    "email": "[EMAIL]",
    "iban": "[IBAN]",
    "card": "[CARD]",
    "codice_fiscale": "[CODICE_FISCALE]",
    "partita_iva": "[PARTITA_IVA]",
    "phone": "[PHONE]",
    "address": "[ADDRESS]",
    "name": "[NAME]",
}


@dataclass(slots=True)
class Masked:
    text: str
    found: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, start, end) in the original text


# --- checksums -------------------------------------------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# IBAN length per country (ISO 13616 registry, the countries an Italian company's customers mostly use).
IBAN_LENGTH = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "VA": 22, "AL": 28, "BA": 20, "RS": 22, "ME": 22, "MK": 19, "TR": 26, "UA": 29, "MD": 24,
    "GE": 22, "IL": 23, "AE": 23, "SA": 24, "BR": 29, "TN": 24, "MA": 28, "EG": 29,
}


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "").replace("-", "").upper()
    if IBAN_LENGTH.get(s[:2]) != len(s) or not s[2:4].isdigit():
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8,
                    12, 14, 16, 10, 22, 25, 24, 23], strict=True))
_CF_EVEN = {ch: (int(ch) if ch.isdigit() else ord(ch) - 65) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def codice_fiscale_check(first15: str) -> str:
    """The check letter of a codice fiscale (DM 23/12/1976): odd positions (1-based) by a table, even by value."""
    s = first15.upper()
    total = sum(_CF_ODD[ch] if i % 2 == 0 else _CF_EVEN[ch] for i, ch in enumerate(s))
    return chr(65 + total % 26)


def codice_fiscale_ok(candidate: str) -> bool:
    s = candidate.upper()
    return len(s) == 16 and codice_fiscale_check(s[:15]) == s[15]


def partita_iva_ok(digits: str) -> bool:
    """Partita IVA: 11 digits, the last a Luhn-style check digit over the first ten."""
    if len(digits) != 11 or not digits.isdigit() or digits == "0" * 11:
        return False
    odd = sum(int(d) for d in digits[0:10:2])
    even = sum((2 * int(d)) - 9 if int(d) > 4 else 2 * int(d) for d in digits[1:10:2])
    return (10 - (odd + even) % 10) % 10 == int(digits[10])


# --- patterns ---------------------------------------------------------------------------------------------------
_B = r"(?<![\w@+])"  # left boundary: not inside a word, an e-mail or a number with a "+"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(_B + r"[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}(?![\w])")
_CARD = re.compile(_B + r"\d(?:[ -]?\d){12,18}(?![\w])")
_CF = re.compile(_B + r"[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Ea-eHhLlMmPpR-Tr-t][0-9LMNPQRSTUVlmnpqrstuv]{2}"
                 r"[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z](?!\w)")
_PIVA = re.compile(_B + r"(?:IT ?)?(\d{11})(?![\w])")
# Phones. Italian: optional +39 / 0039 / (+39), then a mobile (3xx) or landline (0x..) number with optional
# separators; international: + or 00 and a country code; North American: (555) 123-4567 / 555-123-4567.
_SEP = r"[ .\-/]?"
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?:(?:\+|00)39[ .\-]?|\(\+?39\)[ .\-]?)?(?:3\d{2}|0\d{1,3})" + _SEP + r"\d{2,4}(?:" + _SEP + r"\d{2,4}){1,3}"
    r"|(?:\+|00)(?!39)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,4}\)?){2,5}"
    r"|\(\d{3}\) ?\d{3}[ .\-]\d{4}|\d{3}[.\-]\d{3}[.\-]\d{4}"
    r")(?![\w])(?![ .\-/]\d)"
)
_DATE = re.compile(r"\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}")
_AMOUNT = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d{2}")
_CURRENCY_AFTER = re.compile(r"\s?(?:€|eur\b|euro\b|\$|usd\b|£)", re.IGNORECASE)
_CURRENCY_BEFORE = re.compile(r"(?:€|\$|£|eur|euro|usd)\s?$", re.IGNORECASE)

_NAMEWORD = r"[A-ZÀ-Ý][a-zà-ÿ'’]+"
_IT_STREET = (r"(?i:via|viale|v\.le|piazza|p\.zza|piazzale|corso|c\.so|largo|vicolo|strada|contrada|lungomare|"
              r"borgo|località|loc\.)")
_PARTICLE = r"(?:d[aeiu]|del|dell[aoe']|degli|dei|di|della|delle|san|santa|sant'|la|le|il|xx|[IVX]+)"
_ADDRESS_IT = re.compile(
    r"\b" + _IT_STREET + r"\s+(?:(?:" + _NAMEWORD + "|" + _PARTICLE + r"|\d{1,2}(?=\s+[A-Z]))\s*){1,5}"
    r",?\s*(?:n\.?\s?|n°\s?)?"
    r"\d{1,4}(?:\s?/?\s?[a-zA-Z]\b)?(?:,?\s*\d{5}(?:\s+" + _NAMEWORD + r"(?:\s+" + _NAMEWORD + r")?)?"
    r"(?:\s*\(?[A-Z]{2}\)?)?)?"
)
_CAP_CITY = re.compile(r"\b\d{5}\s+(" + _NAMEWORD + r"(?:\s+" + _NAMEWORD + r")?)(\s*\(?[A-Z]{2}\)?(?!\w))?")
_ADDRESS_EN = re.compile(
    r"\b\d{1,5}\s+(?:" + _NAMEWORD + r"\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|"
    r"Court|Ct|Place|Pl|Way|Square|Sq|Terrace|Close|Crescent|Highway|Hwy)\b\.?"
)
# Name cues. Strong: whatever capitalised words follow are a name. Weak: only a known first name is.
_STRONG_CUE = re.compile(
    r"(?i:\bmi chiamo|\bil mio nome è|\bmy name is|\bsignor[ae]?|\bsig\.(?:ra)?|\bdott\.(?:ssa)?|\bdottor(?:essa)?|"
    r"\bavv\.|\bavvocato|\bing\.)\s+(" + _NAMEWORD + r"(?:\s+" + _NAMEWORD + r")?)"
    r"|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+(" + _NAMEWORD + r"(?:\s+" + _NAMEWORD + r")?)"
)
_WEAK_CUE = re.compile(
    r"(?i:\bsono|\bio sono|\boperat(?:ore|rice)|\bconsulente|\bimpiegat[oa]|\bcassier[ea]|\bparlato con|"
    r"\bgrazie a|\bringrazio|\bringraziare|\bthanks to|\bthank|\bthis is|\bi am|\bagent|\brepresentative|"
    r"\bspoke (?:with|to)|\btalked (?:with|to)|\bask(?:ed)? for|\bchied(?:ete|ere|i|o)? di|\bchiesto di|\badvisor|"
    r"\bcolleague|\bcollega)\s+("
    + _NAMEWORD + r")(?:\s+(" + _NAMEWORD + r"))?"
)
_HAS_DIGIT = re.compile(r"\d").search
_HAS_UPPER = re.compile(r"[A-ZÀ-Ý]").search
_PAIR = re.compile(r"\b(" + _NAMEWORD + r")\s+(" + _NAMEWORD + r")\b")


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Shipped first names (Italian and English), lower-case; ambiguous words (Rosa? yes; May, Will: no) left out."""
    from momenti.engines.text.keywords import stopwords

    text = resources.files("momenti.engines.text").joinpath("lexicons/first_names.txt").read_text(encoding="utf-8")
    # Comment lines are skipped whole (their words once became "names": "First Class", "The Captain"), and a
    # function word is never a first name ("To Boston", "Of Chicago").
    names = {w.lower() for line in text.splitlines() if not line.lstrip().startswith("#") for w in line.split()}
    return frozenset(names - stopwords())


@lru_cache(maxsize=1)
def _italian_cities() -> frozenset[str]:
    text = resources.files("momenti.engines.text").joinpath("lexicons/it_cities.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#")


# Capitalised words that are never a surname in a "Firstname Lastname" pair (sentence starts, brands, months).
_NOT_SURNAME = frozenset(
    "il lo la i gli le un una e ed ma per con che non mi ci si ho ha è sono era the a an and but for with not is was "
    "grazie ciao buongiorno buonasera salve thanks thank hello hi dear gentile spett banca bank app carta card "
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre january february "
    "march april may june july august september october november december lunedì martedì mercoledì giovedì venerdì "
    "sabato domenica monday tuesday wednesday thursday friday saturday sunday".split()
)


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def _iban_end(text: str, m: re.Match[str]) -> int | None:
    """End of the IBAN inside a greedy candidate ("IT60X0542... grazie" also matches the pattern): the point where
    the country's length is reached, provided a word does not continue right there."""
    want = IBAN_LENGTH.get(m.group()[:2].upper())
    if want is None:
        return None
    n = 0
    for i in range(m.start(), m.end()):
        if text[i].isalnum():
            n += 1
            if n == want:
                nxt = text[i + 1] if i + 1 < len(text) else ""
                return None if nxt.isalnum() else i + 1
    return None


def _phone_ok(text: str, m: re.Match[str]) -> bool:
    s = m.group()
    d = _digits(s)
    intl = s.startswith(("+", "00", "(+"))
    if not intl and (_DATE.fullmatch(s) or _AMOUNT.fullmatch(s)):
        return False
    if _CURRENCY_AFTER.match(text, m.end()) or _CURRENCY_BEFORE.search(text, max(0, m.start() - 5), m.start()):
        return False
    if intl:
        return 8 <= len(d) <= 15
    core = d[2:] if s.startswith("39") else d
    if core.startswith("3"):
        return 9 <= len(core) <= 10
    if core.startswith("0"):
        return 8 <= len(core) <= 11
    return len(d) == 10 and ("(" in s or "-" in s or "." in s)  # North American shape


class _Spans:
    """Taken character ranges; a finding overlapping a taken range is dropped."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[str, int, int]] = []

    def add(self, kind: str, start: int, end: int) -> None:
        for k, (kd, s, e) in enumerate(self.items):
            if start < e and s < end:
                if kd == kind == "name":  # "Bianchi" from the list + "Giulia Bianchi" from a cue: one name
                    self.items[k] = (kd, min(s, start), max(e, end))
                return
        self.items.append((kind, start, end))


def _names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)


def _find(text: str, names_re: re.Pattern[str] | None) -> list[tuple[str, int, int]]:
    spans = _Spans()
    has_digit = _HAS_DIGIT(text) is not None
    if "@" in text:
        for m in _EMAIL.finditer(text):
            spans.add("email", m.start(), m.end())
    for m in _CF.finditer(text):  # before the digit gate: a fully omocodic code has no digits
        if codice_fiscale_ok(m.group()):
            spans.add("codice_fiscale", m.start(), m.end())
    if has_digit:
        for m in _IBAN.finditer(text):
            end = _iban_end(text, m)
            if end and iban_ok(text[m.start():end]):
                spans.add("iban", m.start(), end)
        for m in _CARD.finditer(text):
            d = _digits(m.group())
            if 13 <= len(d) <= 19 and luhn_ok(d):
                spans.add("card", m.start(), m.end())
        for m in _PIVA.finditer(text):
            if partita_iva_ok(m.group(1)):
                spans.add("partita_iva", m.start(), m.end())
        for m in _PHONE.finditer(text):
            if _phone_ok(text, m):
                spans.add("phone", m.start(), m.end())
        for m in _ADDRESS_IT.finditer(text):
            spans.add("address", m.start(), m.end())
        for m in _ADDRESS_EN.finditer(text):
            spans.add("address", m.start(), m.end())
        for m in _CAP_CITY.finditer(text):
            if m.group(2) or m.group(1).lower() in _italian_cities():
                spans.add("address", m.start(), m.end())
    if names_re is not None:
        for m in names_re.finditer(text):
            spans.add("name", m.start(), m.end())
    if _HAS_UPPER(text) is not None:
        _find_names(text, spans)
    return sorted(spans.items, key=lambda f: f[1])


def _find_names(text: str, spans: _Spans) -> None:
    known = first_names()
    for m in _STRONG_CUE.finditer(text):
        g = 1 if m.group(1) else 2
        words = m.group(g).split()
        if words[0].lower() in _NOT_SURNAME:
            continue
        end = m.start(g) + len(words[0]) if len(words) > 1 and words[1].lower() in _NOT_SURNAME else m.end(g)
        spans.add("name", m.start(g), end)
    for m in _WEAK_CUE.finditer(text):
        if m.group(1).lower() not in known:
            continue
        end = m.end(2) if m.group(2) and m.group(2).lower() not in _NOT_SURNAME else m.end(1)
        spans.add("name", m.start(1), end)
    for m in _PAIR.finditer(text):
        first, last = m.group(1).lower(), m.group(2).lower()
        if first in known and last not in _NOT_SURNAME and last not in known or (first in known and last in known
                                                                                  and m.start() > 0):
            spans.add("name", m.start(), m.end())


def _apply(text: str, found: list[tuple[str, int, int]]) -> str:
    if not found:
        return text
    out, pos = [], 0
    for kind, s, e in found:
        out.append(text[pos:s])
        out.append(PLACEHOLDER[kind])
        pos = e
    out.append(text[pos:])
    return "".join(out)


def mask(text: str, names: Iterable[str] = ()) -> Masked:
    """Mask one text; ``names`` are extra names (staff, customers) masked wherever they appear."""
    text = "" if text is None else str(text)
    found = _find(text, _names_pattern(names))
    return Masked(_apply(text, found), found)


def mask_many(texts: Sequence[str], names: Iterable[str] = ()) -> list[Masked]:
    names_re = _names_pattern(names)
    out = []
    for t in texts:
        t = "" if t is None else str(t)
        found = _find(t, names_re)
        out.append(Masked(_apply(t, found), found))
    return out
