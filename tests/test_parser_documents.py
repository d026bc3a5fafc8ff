"""Property-based tests (hypothesis) of the survey definitions and alert rules read from YAML: never a crash,
and what a template or a generated document says is what is read back. See test_parser_properties.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from momenti.core.documents import read_yaml
from momenti.core.errors import InputError
from momenti.domains.loop.rules import load_rules, template_text
from momenti.domains.surveys.definition import TEMPLATES, load_survey, template
from parser_common import DOCS

# == survey definitions and alert rules (YAML through core/documents.py) ======================================

YAML_PIECES = st.lists(st.sampled_from([
    "key: ", "title: ", "pages: ", "questions: ", "type: ", "rules: ", "on: ", "response: ", "metric: ",
    "at_most: ", "open_case: ", "notify: ", "calendar: ", "hours: ", "sla_policies: ", "recovery: ", "it: ", "en: ",
    "show_if: ", "in: ", "options: ", "touchpoints: ", "thanks: ", "name: ", "closes_at: ", "holidays: ",
    "\n", "\n  ", "\n- ", "- ", "[", "]", "{", "}", ",", ": ", "x", "5", "-1.5", "true", "null", "~", "yes", "on",
    "2025-13-01", "2025-01-01", "2025-01-01T10:00:00", "!!int x", "!!float y", "!!binary ***", "!!timestamp 2025-99",
    "!!set {a, b}", "!!python/name:os.system", "&a ", "*a", "<<: *a", "? ", "|\n  ", "'", '"', "\t", "%YAML 1.1\n",
    "---\n", "...\n", "#", ".yaml", "\x00", "\ufeff", "[" * 60,
]), max_size=30).map("".join)

YAML_DOCS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6), st.dates(), st.datetimes()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(["key", "title", "thanks", "touchpoints", "pages", "questions",
                                                   "type", "text", "it", "en", "options", "show_if", "in", "not_in",
                                                   "question", "min", "max", "hidden", "closes_at", "rules", "on",
                                                   "response", "metric", "at_most", "open_case", "notify", "sla",
                                                   "calendar", "hours", "workdays", "timezone", "holidays",
                                                   "sla_policies", "name", "recovery", "root_causes", "email",
                                                   "quiet_hours", "repeat_contacts", "count", "within_days"]),
                                  st.integers(), st.booleans(), st.none(), st.text(max_size=4)),
                        inner, max_size=5)),
    max_leaves=25,
)


def _load_both(source: Any) -> None:
    for load in (load_survey, load_rules):
        try:
            load(source)
        except InputError:
            pass


@DOCS
@given(st.one_of(st.text(max_size=60), YAML_PIECES))
@example("rules: 5")  # was TypeError: the alert rules unpacked a number
@example("a" * 300 + ".yaml")  # was OSError: file name too long
@example("[" * 5000 + "]" * 5000 + "\n")  # was RecursionError in PyYAML
@example("{closes_at: 2025-13-01}\n")  # was ValueError: a date YAML resolved but could not build
@example("recovery: 5\nrules: true\n")
@example("key: !!timestamp x\n")  # was AttributeError, from PyYAML's constructor
@example("required: !!bool x\n")  # was KeyError
@example("min: !!int\n")  # was IndexError
def test_yaml_documents_never_crash(text: str) -> None:
    _load_both(text)


@DOCS
@given(YAML_DOCS, st.sampled_from(["survey", "rules"]))
def test_yaml_structures_never_crash(doc: Any, where: str) -> None:
    # As YAML text (dates and odd keys as YAML writes them) and as the mapping a Python caller passes.
    text = yaml.safe_dump({where: doc} if where == "rules" and not isinstance(doc, dict) else doc, allow_unicode=True)
    _load_both(text + "\n")
    if isinstance(doc, dict):
        _load_both(dict(doc))


def test_yaml_file_errors(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes("key: caff\xe8\n".encode("latin-1"))
    (tmp_path / "folder.yaml").mkdir()
    for path in (tmp_path / "latin.yaml", tmp_path / "folder.yaml", tmp_path / "missing.yaml", str(tmp_path / "x.yml")):
        with pytest.raises(InputError):
            read_yaml(path, None, "<doc>")


KEY = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k not in {"nps", "csat", "ces", "survey", "survey_version", "channel", "language", "partial", "website",
                        "sid", "action", "p", "t", "lang", "touchpoint", "response_id", "customer_id", "submitted_at"})
WORDS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
I18N = st.builds(lambda it, en: {"it": it, "en": en}, WORDS, WORDS)


@st.composite
def surveys(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(KEY, min_size=1, max_size=6, unique=True))
    questions = []
    for k in keys:
        kind = draw(st.sampled_from(["rating", "single", "multiple", "text", "agree"]))
        q: dict[str, Any] = {"key": k, "type": kind, "text": draw(I18N), "required": draw(st.booleans())}
        if kind in ("single", "multiple"):
            opts = draw(st.lists(st.from_regex(r"[a-z0-9]{1,4}", fullmatch=True), min_size=2, max_size=4, unique=True))
            q["options"] = [{"key": o, "text": draw(I18N)} for o in opts]
        if kind == "rating":
            q["min"], q["max"] = draw(st.sampled_from([(1, 5), (0, 10), (1, 7)]))
        questions.append(q)
    split = draw(st.integers(1, len(questions)))
    pages = [{"questions": questions[:split]}] + ([{"questions": questions[split:]}] if questions[split:] else [])
    if len(pages) == 2:  # a condition on an answer of the first page
        pages[1]["show_if"] = {"question": keys[0], "not_in": ["x"]}
    return {"key": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True)), "title": draw(I18N),
            "thanks": draw(I18N), "touchpoints": draw(st.lists(st.sampled_from(["app-login", "branch-visit"]),
                                                                 min_size=1, max_size=2, unique=True)),
            "pages": pages}


@DOCS
@given(surveys())
def test_survey_yaml_round_trip(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    survey = load_survey(text)
    assert [q.key for q in survey.questions()] == [q["key"] for p in doc["pages"] for q in p["questions"]]
    assert [[q.text.it for q in p.questions] for p in survey.pages] == \
        [[q["text"]["it"] for q in p["questions"]] for p in doc["pages"]]
    again = load_survey(yaml.safe_dump(survey.canonical(), allow_unicode=True))
    assert again.digest() == survey.digest() == load_survey(doc).digest()


@pytest.mark.parametrize("name", TEMPLATES)
def test_survey_templates_round_trip(name: str) -> None:
    survey = template(name)
    assert load_survey(yaml.safe_dump(survey.canonical(), allow_unicode=True)).digest() == survey.digest()


@DOCS
@given(st.lists(st.tuples(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True),
                          st.floats(0, 10, allow_nan=False), st.sampled_from(["low", "normal", "high", "urgent"]),
                          st.sampled_from(["nps", "csat", "ces"])),
                min_size=1, max_size=5, unique_by=lambda r: r[0]))
def test_rules_yaml_round_trip(rules: list[tuple[str, float, str, str]]) -> None:
    # Written by hand, with the bare `on:` key that YAML 1.1 reads as the boolean true.
    text = "rules:\n" + "".join(
        f"  - key: {key!r}\n    on: response\n    response: {{metric: {metric}, at_most: {at_most!r}}}\n"
        f"    open_case: {{priority: {priority}}}\n" for key, at_most, priority, metric in rules)
    doc = load_rules(text)
    assert [(r.key, r.on, r.response.at_most, r.open_case.priority, r.response.metric) for r in doc.rules] == \
        [(key, "response", at_most, priority, metric) for key, at_most, priority, metric in rules]
    assert load_rules(json.loads(json.dumps(doc.model_dump(mode="json")))).digest() == doc.digest()


def test_rules_template_loads() -> None:
    doc = load_rules(template_text())
    assert doc.rules and load_rules(doc.model_dump(mode="json")).digest() == doc.digest()


