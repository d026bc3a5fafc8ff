"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no URL of any kind, so it
can be mailed, archived and opened offline years later and look the same; `@media print` and page breaks make
it print (and become a PDF, pdf.py) one section per page.

The words are in `WORDS`, Italian and English side by side (the analysts' pages and e-mails carry both
languages in their own files; the gettext catalogs are for the respondents' pages). Numbers are written in the
report's language (a decimal comma in Italian); the key figures also carry their exact values in `data-*`
attributes, which is what a program (or a test) should read.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from momenti.domains.report import svg
from momenti.domains.report.build import Report

TEMPLATES = Path(__file__).parent / "templates"
_MONTH_NAMES = {
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre",
           "novembre", "dicembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
SCALES = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}  # the axis of each metric's charts

WORDS: dict[str, dict[str, str]] = {
    "it": {
        "title": "Report per la riunione di direzione", "period": "Periodo", "previous": "confrontato con",
        "generated": "Generato il", "how_to_read": "Come leggere",
        "legend": "Ogni cifra porta il suo n (risposte, casi o commenti) e l'intervallo di confidenza al {conf} %. "
                  "* campione piccolo (n sotto {min_n}): da leggere con cautela. Una variazione è «significativa» "
                  "quando p < {alpha}.",
        "overview": "1. Sintesi", "moments": "2. Momenti della verità",
        "changes": "3. Tendenze: le variazioni significative", "voice": "4. La voce del cliente",
        "loop": "5. Chiusura del cerchio", "reviews": "6. Revisioni settimanali",
        "not_available": "Non disponibile", "metric": "Metrica", "value": "Valore", "interval": "Intervallo",
        "n": "n", "before": "Prima", "now": "Ora", "delta": "Variazione", "p": "p", "significant": "Significativa",
        "yes": "sì", "no": "no", "small": "campione piccolo", "touchpoint": "Touchpoint", "team": "Team",
        "target": "Obiettivo", "status": "Rispetto all'obiettivo", "above": "sopra", "below": "sotto",
        "within": "incerto", "unknown": "nessun dato",
        "status_note": "Sopra o sotto: l'intero intervallo è sopra o sotto l'obiettivo; incerto: l'obiettivo è "
                       "dentro l'intervallo e il periodo non basta a dirlo.",
        "trend_title": "NPS mese per mese (ultimi {k} mesi), con l'intervallo",
        "moments_chart": "{metric} dei momenti della verità nel periodo",
        "no_moments": "Nessun touchpoint è segnato come momento della verità nella mappa del percorso.",
        "tested": "{k} confronti fatti (ogni touchpoint su NPS, CSAT e CES): al {conf} % circa {chance} possono "
                  "risultare significativi per caso.",
        "no_changes": "Nessuna variazione significativa tra i due periodi.",
        "mot": "momento della verità", "comments": "commenti analizzati", "topic": "Tema",
        "mentions": "Menzioni", "share": "Quota %", "positive": "Pos.", "neutral": "Neutri", "negative": "Neg.",
        "net": "Sentiment netto", "topics_chart": "Quota dei commenti che citano ogni tema (%)",
        "no_topics": "Nessun commento analizzato nel periodo.", "examples": "Alcuni commenti (mascherati)",
        "withheld": "Esempi non mostrati: troppo pochi commenti per proteggere chi scrive.",
        "sentiment_negative": "negativo", "sentiment_positive": "positivo",
        "cases": "Casi aperti nel periodo", "close_loop": "Cerchio chiuso (contatto entro 48 h)",
        "close_loop_short": "Contatto entro 48 h",
        "sla": "SLA rispettato", "recovery": "Clienti recuperati", "recovery_nps": "NPS dopo il recupero",
        "reopen": "Casi riaperti (%)", "first_contact": "Primo contatto, ore lavorative (mediana / p90)",
        "resolution": "Risoluzione, ore lavorative (mediana / p90)", "root_causes": "Cause alla radice",
        "cause": "Causa", "cumulative": "Cumulata %", "causes_chart": "Cause alla radice dei casi risolti (%)",
        "by_team": "Per team", "by_touchpoint": "Per touchpoint", "no_cases": "Nessun caso aperto nel periodo.",
        "week": "Settimana", "activities": "Attività", "customer_activities": "Per il cliente",
        "customer_share": "% per il cliente", "value_r": "Valore", "ease": "Facilità",
        "pleasantness": "Piacevolezza", "improvements": "Miglioramenti",
        "share_chart": "Quota delle attività svolte per il cliente, tutti i team (%)",
        "no_reviews": "Nessuna revisione settimanale registrata nel periodo.",
        "what": "Cosa", "after": "Dopo", "no_improvements": "Nessun miglioramento registrato nel periodo.",
        "improvements_note": "Metrica del touchpoint nelle settimane prima e dopo il miglioramento.",
        "all_teams": "Tutti i team, settimana per settimana", "each_team": "Ogni team nel periodo",
        "weeks": "settimane",
        "footer": "momenti: i momenti della verità, misurati onestamente.",
    },
    "en": {
        "title": "Report for the management meeting", "period": "Period", "previous": "compared with",
        "generated": "Generated on", "how_to_read": "How to read it",
        "legend": "Every figure carries its n (answers, cases or comments) and its {conf} % confidence interval. "
                  "* small sample (n below {min_n}): read with care. A change is \u201csignificant\u201d when "
                  "p < {alpha}.",
        "overview": "1. Overview", "moments": "2. Moments of truth",
        "changes": "3. Trends: the significant changes", "voice": "4. Voice of the customer",
        "loop": "5. Closed loop", "reviews": "6. Weekly reviews",
        "not_available": "Not available", "metric": "Metric", "value": "Value", "interval": "Interval",
        "n": "n", "before": "Before", "now": "Now", "delta": "Change", "p": "p", "significant": "Significant",
        "yes": "yes", "no": "no", "small": "small sample", "touchpoint": "Touchpoint", "team": "Team",
        "target": "Target", "status": "Against the target", "above": "above", "below": "below",
        "within": "uncertain", "unknown": "no data",
        "status_note": "Above or below: the whole interval is above or below the target; uncertain: the target "
                       "is inside the interval and the period is not enough to tell.",
        "trend_title": "NPS month by month (last {k} months), with its interval",
        "moments_chart": "{metric} of the moments of truth in the period",
        "no_moments": "No touchpoint is flagged as a moment of truth in the journey map.",
        "tested": "{k} comparisons made (every touchpoint on NPS, CSAT and CES): at {conf} % about {chance} may "
                  "come out significant by chance.",
        "no_changes": "No significant change between the two periods.",
        "mot": "moment of truth", "comments": "comments analysed", "topic": "Topic",
        "mentions": "Mentions", "share": "Share %", "positive": "Pos.", "neutral": "Neutral", "negative": "Neg.",
        "net": "Net sentiment", "topics_chart": "Share of comments mentioning each topic (%)",
        "no_topics": "No comment analysed in the period.", "examples": "A few comments (masked)",
        "withheld": "Examples not shown: too few comments to protect their writers.",
        "sentiment_negative": "negative", "sentiment_positive": "positive",
        "cases": "Cases opened in the period", "close_loop": "Loop closed (contact within 48 h)",
        "close_loop_short": "Contact within 48 h",
        "sla": "SLA met", "recovery": "Customers recovered", "recovery_nps": "NPS after recovery",
        "reopen": "Cases reopened (%)", "first_contact": "First contact, business hours (median / p90)",
        "resolution": "Resolution, business hours (median / p90)", "root_causes": "Root causes",
        "cause": "Cause", "cumulative": "Cumulative %", "causes_chart": "Root causes of the resolved cases (%)",
        "by_team": "By team", "by_touchpoint": "By touchpoint", "no_cases": "No case opened in the period.",
        "week": "Week", "activities": "Activities", "customer_activities": "For the customer",
        "customer_share": "% for the customer", "value_r": "Value", "ease": "Ease",
        "pleasantness": "Pleasantness", "improvements": "Improvements",
        "share_chart": "Share of the activities done for the customer, all teams (%)",
        "no_reviews": "No weekly review recorded in the period.",
        "what": "What", "after": "After", "no_improvements": "No improvement recorded in the period.",
        "improvements_note": "The touchpoint's metric in the weeks before and after the improvement.",
        "all_teams": "All teams, week by week", "each_team": "Each team over the period",
        "weeks": "weeks",
        "footer": "momenti: moments of truth, measured honestly.",
    },
}


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
        return f"{_MONTH_NAMES[report.lang][int(spec[5:]) - 1]} {spec[:4]}"
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
    w = WORDS[report.lang]
    f = Formats(report.lang)
    conf = f.num(100 * report.confidence, 0)
    alpha = f.num(round(1 - report.confidence, 4), 2)
    context = {
        "r": report, "s": report.sections, "w": w, "f": f, "lang": report.lang,
        "period_title": period_title(report), "previous_title": period_title(report, "previous"),
        "legend": w["legend"].format(conf=conf, min_n=report.min_n, alpha=alpha), "conf": conf,
        "charts": _charts(report, f, w), "generated": report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    return _env().get_template("report.html").render(context)
