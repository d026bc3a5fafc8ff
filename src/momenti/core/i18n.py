"""Interface strings in gettext catalogs (Babel): `locales/<lang>/LC_MESSAGES/momenti.po`, compiled to `.mo` beside
them and committed, so an editable install and a wheel need no build step. Msgids are English (the source
language); `make i18n` extracts, updates and compiles (docs/architecture-i18n.md).

Imports nothing of momenti."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "momenti"
LANGUAGES = ("it", "en")


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention
    """Marks a msgid for `pybabel extract` where it is defined; it is translated later, per request language."""
    return msgid


def NP_(context: str, msgid: str) -> tuple[str, str]:  # noqa: N802 - the gettext convention
    """Marks a msgid with a context (the same English words translated differently, e.g. scale points)."""
    return context, msgid


@lru_cache(maxsize=8)
def translations(lang: str) -> NullTranslations:
    """The compiled catalog of `lang` (for Jinja2's `install_gettext_translations` too); an unknown language gets
    the msgids unchanged."""
    found = Translations.load(dirname=str(LOCALES), locales=[lang], domain=DOMAIN)
    # load() falls back to NullTranslations when no .mo exists: the English msgids then show, never an error
    return found


def gettext(lang: str, msgid: str) -> str:
    return translations(lang).gettext(msgid)


def pgettext(lang: str, context: str, msgid: str) -> str:
    return translations(lang).pgettext(context, msgid)
