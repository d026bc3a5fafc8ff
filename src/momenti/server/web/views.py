"""Page data for the web app, built from the same Workspace methods the API and the CLI use.

A view returns plain, JSON-ready data (`/?format=json` serves it as is); templates only lay it out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from momenti.core.frames import records
from momenti.workspace import Workspace

DEFAULT_LANG = "it"

LABELS: dict[str, dict[str, str]] = {
    "it": {
        "title": "Panoramica del percorso", "stage": "Fase", "touchpoint": "Punto di contatto",
        "channel": "Canale", "mot": "Momento della verità", "target": "Obiettivo",
        "met": "raggiunto", "missed": "non raggiunto", "unclear": "incerto",
        "unclear_note": "l'intervallo al {pct} % contiene l'obiettivo",
        "no_data": "nessuna risposta", "small": "campione piccolo", "trend": "NPS mensile del percorso",
        "interval": "intervallo al {pct} %", "legend": "Legenda", "json": "dati in JSON", "docs": "API",
        "no_trend": "Nessuna risposta NPS nel periodo.", "month": "Mese", "band": "fascia: intervallo al {pct} %",
        "hollow": "punto vuoto: campione piccolo", "empty": "Nessun percorso definito: applica un modello con "
        "`momenti journey apply`.", "small_note": "meno di {min_n} risposte: leggi l'intervallo, non il punto",
        "table": "Tabella dei valori", "period": "Periodo", "all_time": "tutto lo storico",
        "met_note": "anche il limite basso dell'intervallo raggiunge l'obiettivo",
        "missed_note": "anche il limite alto dell'intervallo è sotto l'obiettivo",
        "brackets": "tra parentesi",
    },
    "en": {
        "title": "Journey overview", "stage": "Stage", "touchpoint": "Touchpoint",
        "channel": "Channel", "mot": "Moment of truth", "target": "Target",
        "met": "met", "missed": "missed", "unclear": "uncertain",
        "unclear_note": "the {pct} % interval contains the target",
        "no_data": "no answers", "small": "small sample", "trend": "Monthly journey NPS",
        "interval": "{pct} % interval", "legend": "Legend", "json": "data as JSON", "docs": "API",
        "no_trend": "No NPS answers in the period.", "month": "Month", "band": "band: {pct} % interval",
        "hollow": "hollow point: small sample", "empty": "No journey defined yet: apply a template with "
        "`momenti journey apply`.", "small_note": "fewer than {min_n} answers: read the interval, not the point",
        "table": "Table of values", "period": "Period", "all_time": "all time",
        "met_note": "even the low end of the interval reaches the target",
        "missed_note": "even the high end of the interval is below the target",
        "brackets": "in brackets",
    },
}


def _by_key(df: pd.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in records(df)} if not df.empty else {}


def _score(row: dict[str, Any] | None, metric: str) -> dict[str, Any] | None:
    if row is None:
        return None
    out = {"value": row.get(metric), "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high"),
           "n": row["n"], "small_sample": bool(row["small_sample"])}
    for extra in ("promoters", "passives", "detractors", "mean"):
        if extra in row:
            out[extra] = row[extra]
    return out


def target_status(score: dict[str, Any] | None, target: float | None) -> str | None:
    """Judged on the interval, not the point: met only when even the low end reaches the target."""
    if score is None or target is None or score.get("ci_low") is None or score.get("ci_high") is None:
        return None
    if score["ci_low"] >= target:
        return "met"
    if score["ci_high"] < target:
        return "missed"
    return "unclear"


def overview(ws: Workspace, lang: str = DEFAULT_LANG, start: dt.date | None = None,
             end: dt.date | None = None) -> dict[str, Any]:
    """The journey map with NPS and CSAT per touchpoint, targets, and the monthly NPS per journey."""
    doc = ws.journey_document()
    window = {"start": start, "end": end}
    wanted = {tp.get("target_metric") for j in doc["journeys"] for s in j["stages"] for tp in s["touchpoints"]}
    metrics = ["nps", "csat", *(["ces"] if "ces" in wanted else [])]
    # Through the query protocol, together: one warehouse connection, answers from the result cache.
    answers = ws.run_many([*({"kind": m, "by": "touchpoint", **window} for m in metrics),
                           {"kind": "nps", "by": "journey", "period": "month", **window}])
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    scores = {m: _by_key(frame, "touchpoint") for m, frame in zip(metrics, answers, strict=False)}
    trend = answers[-1]
    journeys = []
    for j in doc["journeys"]:
        stages = []
        for s in j["stages"]:
            tps = []
            for tp in s["touchpoints"]:
                key = tp["key"]
                item: dict[str, Any] = {
                    "key": key, "name": tp["name"][lang], "channel": tp["channel"],
                    "owner_team": tp.get("owner_team"), "moment_of_truth": bool(tp.get("moment_of_truth")),
                    "nps": _score(scores["nps"].get(key), "nps"), "csat": _score(scores["csat"].get(key), "csat"),
                }
                metric, goal = tp.get("target_metric"), tp.get("target_score")
                if metric and goal is not None:
                    current = item.get(metric) or _score(scores.get(metric, {}).get(key), metric)
                    item["target"] = {"metric": metric, "score": goal, "value": current,
                                      "status": target_status(current, goal)}
                else:
                    item["target"] = None
                tps.append(item)
            stages.append({"key": s["key"], "name": s["name"][lang], "touchpoints": tps})
        rows = [r for r in records(trend) if r.get("journey") == j["key"]] if not trend.empty else []
        points = [{"period": r["period"][:7], "n": r["n"], "nps": r["nps"], "ci_low": r["ci_low"],
                   "ci_high": r["ci_high"], "small_sample": bool(r["small_sample"])} for r in rows]
        journeys.append({"key": j["key"], "name": j["name"][lang], "stages": stages, "trend": points})
    return {"lang": lang, "min_n": ws.settings.min_n, "confidence": ws.settings.confidence,
            "from": start.isoformat() if start else None, "to": end.isoformat() if end else None,
            "journeys": journeys}
