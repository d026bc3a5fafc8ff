"""The gettext catalogs of the interface strings: complete in Italian and English, compiled .mo files in step with
the .po files, and the survey words read from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from momenti.core import i18n

LOCALES = i18n.LOCALES


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _keys(catalog: Catalog) -> set[tuple[str | None, str]]:
    return {(m.context, m.id) for m in catalog if m.id}


def untranslated(template: Catalog, catalog: Catalog) -> list[str]:
    """The msgids of `template` with no non-empty translation in `catalog` (missing or empty msgstr)."""
    missing = []
    for msg in template:
        if not msg.id:
            continue
        found = catalog.get(msg.id, context=msg.context)
        if found is None or not found.string or found.fuzzy:
            missing.append(msg.id)
    return missing


def test_every_msgid_is_translated_in_both_languages() -> None:
    template = _read_po(LOCALES / "momenti.pot")
    assert len(_keys(template)) > 40  # the survey pages and the unsubscribe page
    for lang in i18n.LANGUAGES:
        catalog = _read_po(LOCALES / lang / "LC_MESSAGES" / "momenti.po")
        assert untranslated(template, catalog) == [], lang
        assert _keys(catalog) == _keys(template), f"{lang}: run make i18n"


def test_the_check_catches_a_missing_translation(tmp_path: Path) -> None:
    template = Catalog(locale=None)
    template.add("Next")
    template.add("Back")
    catalog = Catalog(locale="it")
    catalog.add("Next", "Avanti")
    catalog.add("Back", "")
    path = tmp_path / "tiny.po"
    with path.open("wb") as f:
        write_po(f, catalog)
    assert untranslated(template, _read_po(path)) == ["Back"]
    with pytest.raises(AssertionError):
        assert untranslated(template, _read_po(path)) == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_compiled_catalogs_are_up_to_date(lang: str, tmp_path: Path) -> None:
    directory = LOCALES / lang / "LC_MESSAGES"
    po = _read_po(directory / "momenti.po")
    fresh = tmp_path / "momenti.mo"
    with fresh.open("wb") as f:
        write_mo(f, po)
    with (directory / "momenti.mo").open("rb") as f:
        committed = read_mo(f)
    with fresh.open("rb") as f:
        compiled = read_mo(f)

    def table(cat: Catalog) -> dict:
        return {(m.context, m.id): m.string for m in cat if m.id}

    assert table(committed) == table(compiled), "the .mo is older than the .po: run make i18n"


def test_gettext_reads_the_catalogs() -> None:
    assert i18n.gettext("it", "Next") == "Avanti"
    assert i18n.gettext("en", "Next") == "Next"
    assert i18n.gettext("it", "Page {i} of {n}").format(i=1, n=3) == "Pagina 1 di 3"
    assert i18n.pgettext("it", "agree-5", "Disagree") == "Poco d'accordo"
    assert i18n.pgettext("it", "agree-7", "Disagree") == "In disaccordo"
    # a language with no catalog shows the English msgids, never an error
    assert i18n.gettext("fr", "Next") == "Next"


def test_survey_words_come_from_the_catalogs() -> None:
    from momenti.domains.surveys import texts

    assert texts.UI["it"]["submit"] == "Invia" and texts.UI["en"]["submit"] == "Submit"
    assert texts.UI["it"]["switch"] == "English" and texts.UI["en"]["switch"] == "Italiano"
    assert texts.ui("it") == texts.UI["it"]
    assert texts.agree_labels(5, "it")[0] == "Per niente d'accordo"
    assert texts.SCALE_ENDS["nps"]["en"] == ("Not at all likely", "Extremely likely")


def test_wheel_includes_the_catalogs() -> None:
    # hatch's `packages = ["src/momenti"]` takes every file under the package, the .mo files too
    import tomllib

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    assert config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/momenti"]
    assert LOCALES.is_relative_to(root / "src" / "momenti")
    assert all((LOCALES / lang / "LC_MESSAGES" / "momenti.mo").is_file() for lang in i18n.LANGUAGES)


def test_templates_translate_into_the_page_language() -> None:
    from momenti.server.web.routes import templates

    page = templates.env.from_string('{{ _("Next") }} | {% trans %}Back{% endtrans %} | '
                                     '{{ _("Page {i} of {n}").format(i=2, n=4) }} | '
                                     '{{ pgettext("agree-7", "Disagree") }}')
    assert page.render(lang="it") == "Avanti | Indietro | Pagina 2 di 4 | In disaccordo"
    assert page.render(lang="en") == "Next | Back | Page 2 of 4 | Disagree"
