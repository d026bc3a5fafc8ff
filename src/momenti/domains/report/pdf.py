"""The report's HTML as PDF through WeasyPrint (BSD-3-Clause; pango draws the text), offline by construction.

WeasyPrint fetches what a page refers to (stylesheets, images, fonts) with its URL fetcher. The report refers to
nothing, but a PDF build must never reach the network even if a future template, or a value in it, did: the
fetcher given here refuses every URL, records it, and the refusal stops nothing else (WeasyPrint leaves the
resource out and logs a warning). `base_url=None`: no relative reference resolves to a file either.
"""

from __future__ import annotations

from typing import Any

from momenti.core.errors import InputError


def _refusing_fetcher() -> Any:
    """A URL fetcher that fetches nothing (`.refused` lists what was asked). Newer WeasyPrint (70 here) wants a
    URLFetcher (it reads the instance's attributes when a fetch fails); earlier versions take any callable."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # an older WeasyPrint: any callable will do
        URLFetcher = object  # noqa: N806

    class RefuseAll(URLFetcher):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            if URLFetcher is not object:
                super().__init__(timeout=1, allowed_protocols=(), fail_on_errors=False)
            self.refused: list[str] = []
            self._fail_on_errors = False

        def fetch(self, url: str, headers: object = None) -> Any:
            self.refused.append(url)
            raise ValueError(f"the report fetches nothing: {url} refused")

        def __call__(self, url: str, *args: object, **kwargs: object) -> Any:
            return self.fetch(url)

    return RefuseAll()


def html_to_pdf(html: str) -> tuple[bytes, list[str]]:
    """The PDF of `html`, and the URLs the document asked for (refused: none was fetched)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: the pango/cairo libraries are missing
        raise InputError(f"PDF needs WeasyPrint and pango: pip install weasyprint ({exc})") from exc
    fetcher = _refusing_fetcher()
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    return bytes(pdf), list(fetcher.refused)
