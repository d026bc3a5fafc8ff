"""The invitation and reminder e-mails: HTML and plain text in the customer's language (Jinja2 templates in
templates/email/, package data), with the personal survey link and the unsubscribe link."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from momenti.domains.surveys.smtp import Mail

TEMPLATES = Path(__file__).parent / "templates" / "email"
LANGS = ("it", "en")
SUBJECTS = {
    ("it", False): "Com'è andata? {title}",
    ("it", True): "Promemoria: {title}",
    ("en", False): "How did it go? {title}",
    ("en", True): "Reminder: {title}",
}
_MONTHS_IT = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
              "ottobre", "novembre", "dicembre")


@lru_cache(maxsize=2)
def _env(html: bool) -> Environment:
    # Autoescape in HTML only: a customer's name with "<" must not become markup there, nor "&lt;" in plain text.
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]) if html else False,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def format_date(day: dt.datetime, lang: str) -> str:
    if lang == "it":
        return f"{day.day} {_MONTHS_IT[day.month - 1]} {day.year}"
    return f"{day.day} {day:%B} {day.year}"


def render(*, lang: str, to: str, name: str | None, title: str, url: str, unsubscribe_url: str,
           expires: dt.datetime, reminder: bool = False) -> Mail:
    lang = lang if lang in LANGS else "it"
    subject = SUBJECTS[(lang, reminder)].format(title=title)
    context = {"lang": lang, "name": name, "title": title, "url": url, "unsubscribe_url": unsubscribe_url,
               "expires": format_date(expires, lang), "reminder": reminder, "subject": subject}
    html = _env(True).get_template(f"invitation.{lang}.html").render(context)
    text = _env(False).get_template(f"invitation.{lang}.txt").render(context)
    return Mail(to=to, to_name=name, subject=subject, text=text, html=html, language=lang,
                unsubscribe_url=unsubscribe_url)
