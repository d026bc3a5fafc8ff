"""The figures of the management-meeting report of a period, collected from a workspace passed in.

`report(ws, period, lang)` asks the workspace's own questions (the same ones the CLI, the REST API and the pages
ask, so the meeting sees the numbers everyone else sees) and returns a `Report`: plain records, each rate with
its n, interval and small-sample flag, ready for html.py. Nothing is computed here that a workspace question
already answers; this module only chooses the questions, the periods and the order.

Each section is collected on its own: one the data cannot answer (no comments analysed, no cases, the weekly
review not set up) is reported as not available with its error, and the others still come. Only the errors a
question raises on purpose (`MomentiError`) and those of a missing column (`KeyError`, `ValueError`) are caught:
anything else is a bug and stops the report.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from momenti.core.clock import utcnow
from momenti.core.errors import InputError, MomentiError
from momenti.core.frames import records
from momenti.engines.stats import wilson
from momenti.insights.scores.compare import parse_period

log = logging.getLogger("momenti.report")

METRICS = ("nps", "csat", "ces")
LANGS = ("it", "en")
SECTIONS = ("overview", "moments", "changes", "voice", "loop", "reviews")
SECTION_ERRORS = (MomentiError, KeyError, ValueError)
TOP_TOPICS = 8
TREND_MONTHS = 12
EXAMPLE_NEGATIVE, EXAMPLE_POSITIVE = 3, 2
COMMENT_CHARS = 280  # an example is a quote, not the whole complaint: the meeting reads a few lines
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class ReportWorkspace(Protocol):
    """What the report reads of a workspace (momenti.Workspace satisfies it; this layer may not import it)."""

    settings: Any

    def metric(self, metric: str, **kwargs: Any) -> pd.DataFrame: ...
    def compare(self, metric: str, *args: Any, **kwargs: Any) -> pd.DataFrame: ...
    def journey_document(self) -> dict: ...
    def topics(self, *args: Any, **kwargs: Any) -> pd.DataFrame: ...
    def comments(self, *args: Any, **kwargs: Any) -> pd.DataFrame: ...
    def case_metrics(self, *args: Any, **kwargs: Any) -> pd.DataFrame: ...
    def case_root_causes(self, *args: Any, **kwargs: Any) -> pd.DataFrame: ...
    def reviews(self, *args: Any, **kwargs: Any) -> pd.DataFrame: ...
    def review_improvements(self, *args: Any, **kwargs: Any) -> pd.DataFrame: ...


# --- periods -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    spec: str  # as parse_period reads it: what compare(periods=...) is given
    label: str
    start: dt.date
    end: dt.date  # inclusive

    @classmethod
    def parse(cls, spec: str) -> Period:
        start, end, label = parse_period(spec)
        return cls(spec.strip(), label, start, end)

    def previous(self) -> Period:
        return Period.parse(previous_spec(self.spec))


def _shift_month(text: str, months: int) -> str:
    m = _MONTH.fullmatch(text)
    assert m is not None
    idx = int(m[1]) * 12 + int(m[2]) - 1 + months
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def previous_spec(spec: str) -> str:
    """The period just before, of the same kind: 2026-04 -> 2026-03, 2026-Q1 -> 2025-Q4, 2026-W01 -> 2025-W53
    when 2025 has one, 2026 -> 2025; a range of months moves back by its length in months, any other range of
    days by its length in days (so the two sides of a comparison are equally long)."""
    s = spec.strip()
    start, end, _ = parse_period(s)
    if ".." in s:
        a, b = (x.strip() for x in s.split("..", 1))
        if _MONTH.fullmatch(a) and _MONTH.fullmatch(b):
            ya, ma = map(int, a.split("-"))
            yb, mb = map(int, b.split("-"))
            k = (yb * 12 + mb) - (ya * 12 + ma) + 1
            return f"{_shift_month(a, -k)}..{_shift_month(b, -k)}"
        days = (end - start).days + 1
        last = start - dt.timedelta(days=1)
        return f"{(last - dt.timedelta(days=days - 1)).isoformat()}..{last.isoformat()}"
    if re.fullmatch(r"\d{4}", s):
        return str(int(s) - 1)
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", s):
        year, quarter = int(m[1]), int(m[2])
        return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    if re.fullmatch(r"\d{4}-[Ww]\d{1,2}", s):
        year, week, _ = (start - dt.timedelta(days=7)).isocalendar()
        return f"{year}-W{week:02d}"
    if _MONTH.fullmatch(s):
        return _shift_month(s, -1)
    return (start - dt.timedelta(days=1)).isoformat()  # one day: the day before


# --- the report ----------------------------------------------------------------------------------------------


@dataclass
class Section:
    key: str
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # set: the section is shown as not available, with this message

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Report:
    period: Period
    previous: Period
    lang: str
    generated_at: dt.datetime
    confidence: float
    min_n: int
    sections: dict[str, Section]


class _Ask:
    """The questions of one report, with the answers more than one section reads asked only once."""

    def __init__(self, ws: ReportWorkspace, period: Period, lang: str) -> None:
        self.ws, self.p, self.prev, self.lang = ws, period, period.previous(), lang
        self._compare: dict[str, pd.DataFrame] = {}
        self._touchpoints: dict[str, dict[str, Any]] | None = None

    @property
    def span(self) -> dict[str, dt.date]:
        return {"start": self.p.start, "end": self.p.end}

    def touchpoints(self) -> dict[str, dict[str, Any]]:
        """Every touchpoint of the journey map by key: its name in the report's language, team, target and flag."""
        if self._touchpoints is None:
            out: dict[str, dict[str, Any]] = {}
            for journey in self.ws.journey_document().get("journeys", []):
                for stage in journey.get("stages", []):
                    for tp in stage.get("touchpoints", []):
                        names = tp.get("name") or {}
                        metric = str(tp.get("target_metric") or "nps").lower()
                        out[tp["key"]] = {
                            "key": tp["key"], "name": names.get(self.lang) or names.get("it") or tp["key"],
                            "team": tp.get("owner_team"), "moment_of_truth": bool(tp.get("moment_of_truth")),
                            "metric": metric if metric in METRICS else "nps", "target": tp.get("target_score")}
            self._touchpoints = out
        return self._touchpoints

    def name(self, key: Any) -> str:
        if key is None:
            return "–"
        return self.touchpoints().get(str(key), {}).get("name", str(key))

    def compare_by_touchpoint(self, metric: str) -> pd.DataFrame:
        if metric not in self._compare:
            self._compare[metric] = self.ws.compare(metric, by="touchpoint", periods=(self.prev.spec, self.p.spec))
        return self._compare[metric]


def _first(df: pd.DataFrame) -> dict[str, Any]:
    return records(df.head(1))[0] if len(df) else {}


def _section(key: str, collect: Callable[[], dict[str, Any]]) -> Section:
    try:
        return Section(key, collect())
    except SECTION_ERRORS as exc:
        log.warning("report section %s not available: %s", key, exc)
        return Section(key, error=f"{type(exc).__name__}: {exc}")


def report(ws: ReportWorkspace, period: str, lang: str = "it") -> Report:
    """The report of `period` (2026-04, 2026-Q4, 2026-W40, 2026, A..B days) in `lang` (it or en)."""
    if lang not in LANGS:
        raise InputError(f"lang {lang!r}: use it or en")
    ask = _Ask(ws, Period.parse(period), lang)
    collectors: dict[str, Callable[[_Ask], dict[str, Any]]] = {
        "overview": _overview, "moments": _moments, "changes": _changes, "voice": _voice, "loop": _loop,
        "reviews": _reviews}
    sections = {key: _section(key, lambda fn=fn: fn(ask)) for key, fn in collectors.items()}
    settings = ws.settings
    return Report(ask.p, ask.prev, lang, utcnow().replace(microsecond=0), float(settings.confidence),
                  int(settings.min_n), sections)


# --- the sections --------------------------------------------------------------------------------------------


def _overview(ask: _Ask) -> dict[str, Any]:
    """NPS, CSAT and CES of the period, each against the period before (compare: delta, interval, p-value)."""
    rows = []
    for m in METRICS:
        now = _first(ask.ws.metric(m, **ask.span))
        cmp = _first(ask.ws.compare(m, periods=(ask.prev.spec, ask.p.spec)))
        rows.append({
            "metric": m, "value": now.get(m), "ci_low": now.get("ci_low"), "ci_high": now.get("ci_high"),
            "n": int(now.get("n") or 0), "small_sample": bool(now.get("small_sample", True)),
            "previous": cmp.get(f"{m}_a"), "previous_n": int(cmp.get("n_a") or 0), "delta": cmp.get("delta"),
            "delta_ci_low": cmp.get("ci_low"), "delta_ci_high": cmp.get("ci_high"), "p_value": cmp.get("p_value"),
            "significant": bool(cmp.get("significant") or False),
            "compare_small": bool(cmp.get("small_sample", True))})
    # The NPS month by month up to the period's end: the meeting sees whether this period's figure is news.
    end = ask.p.end
    first = _shift_month(f"{end.year:04d}-{end.month:02d}", -(TREND_MONTHS - 1))
    trend = ask.ws.metric("nps", period="month", start=dt.date.fromisoformat(first + "-01"), end=end)
    points = [{"label": str(r.get("period"))[:7], "value": r.get("nps"), "ci_low": r.get("ci_low"),
               "ci_high": r.get("ci_high"), "n": int(r.get("n") or 0), "small_sample": bool(r.get("small_sample"))}
              for r in records(trend)]
    return {"metrics": rows, "trend": points}


def _moments(ask: _Ask) -> dict[str, Any]:
    """Each moment of truth on its own target metric: the period's figure, its target, the change."""
    mot = {k: t for k, t in ask.touchpoints().items() if t["moment_of_truth"]}
    rows = []
    for metric in METRICS:
        keys = [k for k, t in mot.items() if t["metric"] == metric]
        if not keys:
            continue
        now = ask.ws.metric(metric, by="touchpoint", **ask.span)
        now = {r["touchpoint"]: r for r in records(now)} if len(now) else {}
        cmp = ask.compare_by_touchpoint(metric)
        cmp = {r["touchpoint"]: r for r in records(cmp)} if len(cmp) else {}
        for key in keys:
            tp, r, c = mot[key], now.get(key, {}), cmp.get(key, {})
            value, lo, hi, target = r.get(metric), r.get("ci_low"), r.get("ci_high"), tp["target"]
            # Against its target, as far as the interval lets one tell: above or below only when the whole
            # interval is; otherwise the target is within it and the period does not say.
            if value is None or target is None or lo is None or hi is None:
                status = "unknown"
            else:
                status = "above" if lo > target else "below" if hi < target else "within"
            rows.append({"touchpoint": key, "name": tp["name"], "team": tp["team"], "metric": metric,
                         "target": target, "value": value, "ci_low": lo, "ci_high": hi, "n": int(r.get("n") or 0),
                         "small_sample": bool(r.get("small_sample", True)), "status": status,
                         "delta": c.get("delta"), "delta_ci_low": c.get("ci_low"), "delta_ci_high": c.get("ci_high"),
                         "p_value": c.get("p_value"), "significant": bool(c.get("significant") or False)})
    order = list(ask.touchpoints())
    rows.sort(key=lambda r: order.index(r["touchpoint"]))
    return {"rows": rows}


def _changes(ask: _Ask) -> dict[str, Any]:
    """Every touchpoint on every metric, this period against the one before: the significant changes, and how
    many were tested (at 95 %, about one comparison in twenty comes out significant by chance alone)."""
    tested, found = 0, []
    for metric in METRICS:
        df = ask.compare_by_touchpoint(metric)
        tested += len(df)
        if not len(df):
            continue
        for r in records(df[df["significant"].astype(bool)]):
            tp = ask.touchpoints().get(str(r["touchpoint"]), {})
            found.append({**r, "metric": metric, "name": ask.name(r["touchpoint"]),
                          "value_a": r.get(f"{metric}_a"), "value_b": r.get(f"{metric}_b"),
                          "moment_of_truth": bool(tp.get("moment_of_truth")),
                          "target_metric": tp.get("metric") == metric})
    found.sort(key=lambda r: (r["p_value"] if r["p_value"] is not None else 1.0, -abs(r["delta"] or 0)))
    return {"tested": tested, "significant": found, "by_chance": tested * (1 - ask.ws.settings.confidence)}


def _topic_labels(ask: _Ask, keys: list[str], fallback: list[str]) -> list[str]:
    """Topic labels in the report's language (the workspace's `label` column is in MOMENTI_TEXT_LANGUAGE)."""
    try:
        from momenti.engines.text.topics import Taxonomy
        from momenti.insights.text.kept import taxonomy_source

        return Taxonomy.load(taxonomy_source(ask.ws.settings)).labels(keys, ask.lang)
    except (OSError, *SECTION_ERRORS) as exc:  # a taxonomy file gone since the analysis: the workspace's labels
        log.warning("report: topic labels in %s not available: %s", ask.lang, exc)
        return fallback


def _voice(ask: _Ask) -> dict[str, Any]:
    """The period's top topics by volume with their sentiment, and a few example comments (masked)."""
    df = ask.ws.topics(**ask.span)
    topics: list[dict[str, Any]] = []
    n_comments = 0
    if len(df):
        n_comments = int(df["n_comments"].max())
        top = df.sort_values(["n", "topic"], ascending=[False, True]).head(TOP_TOPICS)
        topics = records(top)
        labels = _topic_labels(ask, [str(t["topic"]) for t in topics], [str(t.get("label")) for t in topics])
        for t, label in zip(topics, labels, strict=True):
            t["label"] = label
    examples, withheld = [], False
    for sentiment, limit in (("negative", EXAMPLE_NEGATIVE), ("positive", EXAMPLE_POSITIVE)):
        got = ask.ws.comments(sentiment=sentiment, limit=limit, **ask.span)
        withheld = withheld or bool(got.attrs.get("withheld"))
        for r in records(got):
            text = str(r.get("masked_text") or "")
            examples.append({"sentiment": sentiment, "when": str(r.get("ts") or "")[:10],
                             "touchpoint": ask.name(r.get("touchpoint")) if r.get("touchpoint") else "–",
                             "topics": r.get("topic_labels") or "", "kind": r.get("kind"),
                             "text": text if len(text) <= COMMENT_CHARS else text[: COMMENT_CHARS - 1] + "…"})
    return {"n_comments": n_comments, "topics": topics, "examples": examples, "withheld": withheld}


def _loop(ask: _Ask) -> dict[str, Any]:
    """The closed loop of the cases opened in the period: rates with intervals, times, root causes."""
    overall = _first(ask.ws.case_metrics(**ask.span))
    teams = ask.ws.case_metrics(by="team", **ask.span)
    causes = ask.ws.case_root_causes(by=None, **ask.span)
    by_tp = ask.ws.case_root_causes(by="touchpoint", **ask.span)
    tp_rows = records(by_tp.sort_values("n", ascending=False).head(12)) if len(by_tp) else []
    for r in tp_rows:
        r["name"] = ask.name(r.get("touchpoint"))
    return {"overall": overall, "teams": records(teams) if len(teams) else [],
            "causes": records(causes) if len(causes) else [], "causes_by_touchpoint": tp_rows}


def _reviews(ask: _Ask) -> dict[str, Any]:
    """The weekly reviews of the weeks in the period (all teams together week by week; each team over the whole
    period) and the improvements recorded, each with its touchpoint's metric before and after."""
    weeks = ask.ws.reviews(**ask.span)
    everyone: list[dict[str, Any]] = []
    teams: list[dict[str, Any]] = []
    if len(weeks):
        weeks = weeks.sort_values(["week", "team"])
        everyone = records(weeks[weeks["team"] == "all"])
        teams = [_team_period(str(team), rows, ask.ws.settings.confidence)
                 for team, rows in weeks[weeks["team"] != "all"].groupby("team", sort=True)]
    improvements = ask.ws.review_improvements(**ask.span)
    rows = records(improvements) if len(improvements) else []
    for r in rows:
        r["name"] = ask.name(r.get("touchpoint"))
    return {"weeks": everyone, "teams": teams, "improvements": rows}


def _team_period(team: str, weeks: pd.DataFrame, confidence: float) -> dict[str, Any]:
    """One team's weeks summed into the period: a week per row would be a page per team at the meeting. The
    share gets its Wilson interval from the summed counts; each rating is the mean over the customer activities
    (the weekly means weighted by their customer activities, which is the same)."""
    n, k = int(weeks["activities"].sum()), int(weeks["customer_activities"].sum())
    share, lo, hi = (float(x) / 100 for x in wilson(k, n, confidence))
    out: dict[str, Any] = {"team": team, "weeks": len(weeks), "activities": n, "customer_activities": k,
                           "customer_share": share, "customer_share_ci_low": lo, "customer_share_ci_high": hi,
                           "improvements": int(weeks["improvements"].sum())}
    for rating in ("value", "ease", "pleasantness"):
        rated = weeks[weeks[rating].notna()]
        weight = rated["customer_activities"].astype(float)
        out[rating] = float((rated[rating] * weight).sum() / weight.sum()) if weight.sum() else None
    return out
