"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no URL of any kind, so it
can be mailed, archived and opened offline years later and look the same; `@media print` and page breaks make
it print (and become a PDF, pdf.py) one section per page.

The words are in `WORDS` (English msgids in the gettext catalogs' "report" context, Italian in locales/it, like
every interface string); month names come from Babel's locale data. Numbers are written in the
report's language (a decimal comma in Italian); the key figures also carry their exact values in `data-*`
attributes, which is what a program (or a test) should read.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import get_month_names
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from momenti.core.i18n import NP_, pgettext
from momenti.domains.report import svg
from momenti.domains.report.build import Report

TEMPLATES = Path(__file__).parent / "templates"
SCALES = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}  # the axis of each metric's charts

# Every word of the report, keyed as the templates use it; the text is its English msgid, in the "report"
# context of the gettext catalogs (Italian in locales/it), like every other interface string.
WORDS: dict[str, tuple[str, str]] = {
    'title': NP_("report", "Report for the management meeting"),
    'period': NP_("report", "Period"),
    'previous': NP_("report", "compared with"),
    'generated': NP_("report", "Generated on"),
    'how_to_read': NP_("report", "How to read it"),
    'legend': NP_(
        "report",
        "Every figure carries its n (answers, cases or comments) and its {level} confidence interval. * "
        "small sample (n below {min_n}): read with care. A change is “significant” when p < {alpha}.",
    ),
    'overview': NP_("report", "1. Overview"),
    'moments': NP_("report", "2. Moments of truth"),
    'changes': NP_("report", "3. Trends: the significant changes"),
    'voice': NP_("report", "4. Voice of the customer"),
    'loop': NP_("report", "5. Closed loop"),
    'reviews': NP_("report", "6. Weekly reviews"),
    'not_available': NP_("report", "Not available"),
    'metric': NP_("report", "Metric"),
    'value': NP_("report", "Value"),
    'interval': NP_("report", "Interval"),
    'n': NP_("report", "n"),
    'before': NP_("report", "Before"),
    'now': NP_("report", "Now"),
    'delta': NP_("report", "Change"),
    'p': NP_("report", "p"),
    'significant': NP_("report", "Significant"),
    'yes': NP_("report", "yes"),
    'no': NP_("report", "no"),
    'small': NP_("report", "small sample"),
    'touchpoint': NP_("report", "Touchpoint"),
    'team': NP_("report", "Team"),
    'target': NP_("report", "Target"),
    'status': NP_("report", "Against the target"),
    'above': NP_("report", "above"),
    'below': NP_("report", "below"),
    'within': NP_("report", "uncertain"),
    'unknown': NP_("report", "no data"),
    'status_note': NP_(
        "report",
        "Above or below: the whole interval is above or below the target; uncertain: the target is inside "
        "the interval and the period is not enough to tell.",
    ),
    'trend_title': NP_("report", "NPS month by month (last {k} months), with its interval"),
    'moments_chart': NP_("report", "{metric} of the moments of truth in the period"),
    'no_moments': NP_("report", "No touchpoint is flagged as a moment of truth in the journey map."),
    'tested': NP_(
        "report",
        "{k} comparisons made (every touchpoint on NPS, CSAT and CES): at {level} about {chance} may come "
        "out significant by chance.",
    ),
    'no_changes': NP_("report", "No significant change between the two periods."),
    'mot': NP_("report", "moment of truth"),
    'comments': NP_("report", "comments analysed"),
    'topic': NP_("report", "Topic"),
    'mentions': NP_("report", "Mentions"),
    'share': NP_("report", "Share %"),
    'positive': NP_("report", "Pos."),
    'neutral': NP_("report", "Neutral"),
    'negative': NP_("report", "Neg."),
    'net': NP_("report", "Net sentiment"),
    'topics_chart': NP_("report", "Share of comments mentioning each topic (%)"),
    'no_topics': NP_("report", "No comment analysed in the period."),
    'examples': NP_("report", "A few comments (masked)"),
    'withheld': NP_("report", "Examples not shown: too few comments to protect their writers."),
    'sentiment_negative': NP_("report", "negative"),
    'sentiment_positive': NP_("report", "positive"),
    'cases': NP_("report", "Cases opened in the period"),
    'close_loop': NP_("report", "Loop closed (contact within 48 h)"),
    'close_loop_short': NP_("report", "Contact within 48 h"),
    'sla': NP_("report", "SLA met"),
    'recovery': NP_("report", "Customers recovered"),
    'recovery_nps': NP_("report", "NPS after recovery"),
    'reopen': NP_("report", "Cases reopened (%)"),
    'first_contact': NP_("report", "First contact, business hours (median / p90)"),
    'resolution': NP_("report", "Resolution, business hours (median / p90)"),
    'root_causes': NP_("report", "Root causes"),
    'cause': NP_("report", "Cause"),
    'cumulative': NP_("report", "Cumulative %"),
    'causes_chart': NP_("report", "Root causes of the resolved cases (%)"),
    'by_team': NP_("report", "By team"),
    'by_touchpoint': NP_("report", "By touchpoint"),
    'no_cases': NP_("report", "No case opened in the period."),
    'week': NP_("report", "Week"),
    'activities': NP_("report", "Activities"),
    'customer_activities': NP_("report", "For the customer"),
    'customer_share': NP_("report", "Share for the customer (%)"),
    'value_r': NP_("report", "Value"),
    'ease': NP_("report", "Ease"),
    'pleasantness': NP_("report", "Pleasantness"),
    'improvements': NP_("report", "Improvements"),
    'share_chart': NP_("report", "Share of the activities done for the customer, all teams (%)"),
    'no_reviews': NP_("report", "No weekly review recorded in the period."),
    'what': NP_("report", "What"),
    'after': NP_("report", "After"),
    'no_improvements': NP_("report", "No improvement recorded in the period."),
    'improvements_note': NP_("report", "The touchpoint's metric in the weeks before and after the improvement."),
    'all_teams': NP_("report", "All teams, week by week"),
    'each_team': NP_("report", "Each team over the period"),
    'weeks': NP_("report", "weeks"),
    'footer': NP_("report", "momenti: moments of truth, measured honestly."),
}


def words(lang: str) -> dict[str, str]:
    """The report's words in `lang` (an unknown language gets the English ones)."""
    return {key: pgettext(lang, context, msgid) for key, (context, msgid) in WORDS.items()}


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


class Formats:
    """Numbers in the report's language: 7,8 and 1.234 in Italian, 7.8 and 1,234 in English."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def _local(self, text: str) -> str:
        if self.lang != "it":
            return text
        return text.replace(",", "\0").replace(".", ",").replace("\0", ".")

    def num(self, v: Any, digits: int = 1) -> str:
        if _missing(v):
            return "–"
        if isinstance(v, bool):
            return str(v)
        if isinstance(v, int):
            return self._local(f"{v:,}")
        return self._local(f"{float(v):,.{digits}f}")

    def signed(self, v: Any, digits: int = 1) -> str:
        return "–" if _missing(v) else ("+" if float(v) > 0 else "") + self.num(v, digits)

    def ci(self, lo: Any, hi: Any, digits: int = 1) -> str:
        if _missing(lo) or _missing(hi):
            return "–"
        return f"{self.num(lo, digits)} – {self.num(hi, digits)}"

    def pct(self, fraction: Any, digits: int = 0) -> str:
        return "–" if _missing(fraction) else self.num(100 * float(fraction), digits)

    def p(self, v: Any) -> str:
        if _missing(v):
            return "–"
        return "< " + self.num(0.001, 3) if float(v) < 0.001 else self.num(float(v), 3)


def raw(v: Any) -> str:
    """A value for a data-* attribute: full precision, a dot for decimals, empty when missing."""
    if _missing(v):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(float(v)) if isinstance(v, float) else str(v)


def period_title(report: Report, which: str = "period") -> str:
    """April 2026 / aprile 2026 for a month; the period's own label otherwise (2026-Q2, 2026-W18, 2026)."""
    p = report.period if which == "period" else report.previous
    spec = p.spec
    if len(spec) == 7 and spec[4] == "-" and spec[:4].isdigit() and spec[5:].isdigit():
        return f"{get_month_names('wide', locale=report.lang)[int(spec[5:])]} {spec[:4]}"
    return p.label


@lru_cache(maxsize=1)
def _env() -> Environment:
    # Autoescape on: topic labels, team names, touchpoint names and customers' comments are data, never markup.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["raw"] = raw
    return env


def _charts(report: Report, f: Formats, w: dict[str, str]) -> dict[str, Markup]:
    """The SVG charts of the sections that are available."""
    s = report.sections
    out: dict[str, Markup] = {}
    if s["overview"].ok and s["overview"].data["trend"]:
        pts = [svg.Point(p["label"], p["value"], p["ci_low"], p["ci_high"], p["small_sample"])
               for p in s["overview"].data["trend"]]
        out["trend"] = svg.line(pts, title=w["trend_title"].format(k=len(pts)), fmt=lambda x: f.num(x, 0))
    if s["moments"].ok:
        for metric in ("nps", "csat", "ces"):
            rows = [r for r in s["moments"].data["rows"] if r["metric"] == metric]
            if rows:
                lo, hi = SCALES[metric]
                out[f"moments_{metric}"] = svg.bars(
                    [svg.Bar(r["name"], r["value"], r["ci_low"], r["ci_high"], r["small_sample"]) for r in rows],
                    title=w["moments_chart"].format(metric=metric.upper()), lo=lo if metric != "ces" else None,
                    hi=hi, fmt=lambda x, m=metric: f.num(x, 1 if m == "ces" else 0))
    if s["voice"].ok and s["voice"].data["topics"]:
        out["topics"] = svg.bars([svg.Bar(t["label"], t["share"], t["ci_low"], t["ci_high"], t["small_sample"])
                                  for t in s["voice"].data["topics"]], title=w["topics_chart"], lo=0,
                                 fmt=lambda x: f.num(x, 0))
    if s["loop"].ok and s["loop"].data["causes"]:
        out["causes"] = svg.bars([svg.Bar(str(c["root_cause"]), c["share"]) for c in s["loop"].data["causes"]],
                                 title=w["causes_chart"], lo=0, hi=100, fmt=lambda x: f.num(x, 0))
    if s["reviews"].ok and s["reviews"].data["weeks"]:
        pts = [svg.Point(r["week"], _times100(r.get("customer_share")), _times100(r.get("customer_share_ci_low")),
                         _times100(r.get("customer_share_ci_high"))) for r in s["reviews"].data["weeks"]]
        out["share"] = svg.line(pts, title=w["share_chart"], lo=0, hi=100, fmt=lambda x: f.num(x, 0), height=200)
    return out


def _times100(v: Any) -> float | None:
    return None if _missing(v) else 100 * float(v)


def render(report: Report) -> str:
    """The report as a self-contained HTML document."""
    w = words(report.lang)
    f = Formats(report.lang)
    conf = f.num(100 * report.confidence, 0)
    alpha = f.num(round(1 - report.confidence, 4), 2)
    context = {
        "r": report, "s": report.sections, "w": w, "f": f, "lang": report.lang,
        "period_title": period_title(report), "previous_title": period_title(report, "previous"),
        "legend": w["legend"].format(level=f"{conf} %", min_n=report.min_n, alpha=alpha), "level": f"{conf} %",
        "charts": _charts(report, f, w), "generated": report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    return _env().get_template("report.html").render(context)
