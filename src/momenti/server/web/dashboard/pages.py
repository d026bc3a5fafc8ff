"""What each dashboard page shows: its panels, each one query of the protocol (insights/query.py) and how to
draw it. Data only: build.py runs the queries, routes.py serves HTML, JSON and CSV, the template lays out.

A panel's `params` are the query's own; the page's filters (period, journey, touchpoint, channel, segment) are
added to every query that takes them. `chart`: "bars" (a value with its interval per group), "trend" (a value
per period with its band), "scatter" (importance x performance), "table" (the rows only).
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Panel:
    key: str
    title: dict[str, str]  # it, en
    kind: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    chart: str = "table"
    label: str | None = None  # the column(s) naming each bar or point ("source,target": joined by an arrow)
    value: str | None = None  # the column drawn
    low: str = "ci_low"
    high: str = "ci_high"
    x: str | None = None  # scatter: the column across
    columns: tuple[str, ...] | None = None  # the table's columns (default: all)
    permission: str = "aggregates.read"  # comments need more (domains/access/permissions.py)
    limit: int = 40  # rows shown in the table (the JSON and CSV have all)


@dataclasses.dataclass(frozen=True)
class Page:
    key: str
    path: str
    title: dict[str, str]
    intro: dict[str, str]
    panels: tuple[Panel, ...]
    empty: dict[str, str]  # what to import when there is nothing to show


def _t(it: str, en: str) -> dict[str, str]:
    return {"it": it, "en": en}


PAGES: tuple[Page, ...] = (
    Page("moments", "/moments", _t("Momenti della verità", "Moments of truth"),
         _t("Quali punti di contatto pesano sulla fedeltà e come vanno: importanza (pesi relativi) contro "
            "prestazione, con intervalli bootstrap.",
            "Which touchpoints drive loyalty and how they perform: importance (relative weights) against "
            "performance, with bootstrap intervals."),
         (Panel("quadrant", _t("Importanza × prestazione", "Importance × performance"), "quadrant",
                {"bootstrap": 200}, chart="scatter", label="driver", x="importance", value="performance",
                low="performance_ci_low", high="performance_ci_high"),
          Panel("drivers", _t("Fattori chiave", "Key drivers"), "drivers", {"bootstrap": 200}, chart="bars",
                label="driver", value="weight"),
          Panel("penalty_reward", _t("Penalità e premio", "Penalty and reward"), "penalty_reward"),
          Panel("dissonance", _t("Dissonanza", "Dissonance"), "dissonance")),
         _t("Servono risposte con il punteggio di fedeltà e i voti ai punti di contatto: `momenti import "
            "responses FILE`.", "Needs responses with the loyalty score and touchpoint ratings: `momenti import "
            "responses FILE`.")),
    Page("trends", "/trends", _t("Andamenti", "Trends"),
         _t("Ogni metrica per periodo con la sua fascia d'incertezza, e il confronto tra gli ultimi due periodi "
            "con la significatività.", "Each metric by period with its uncertainty band, and the last two periods "
            "compared with their significance."),
         (Panel("nps", _t("NPS mensile", "Monthly NPS"), "nps", {"period": "month"}, chart="trend", label="period",
                value="nps"),
          Panel("csat", _t("CSAT mensile", "Monthly CSAT"), "csat", {"period": "month"}, chart="trend",
                label="period", value="csat"),
          Panel("compare", _t("Variazione NPS per punto di contatto", "NPS change by touchpoint"), "compare",
                {"metric": "nps", "by": "touchpoint", "period": "month"})),
         _t("Nessuna risposta: `momenti import responses FILE`.",
            "No responses yet: `momenti import responses FILE`.")),
    Page("loyalty", "/loyalty", _t("Fedeltà", "Loyalty"),
         _t("La batteria della fedeltà (quote d'accordo), l'indice, il banco della fedeltà e le soglie di "
            "cambio per prezzo.", "The loyalty battery (agree shares), the index, the loyalty bank and the "
            "price-switch thresholds."),
         (Panel("battery", _t("Batteria: quota d'accordo", "Battery: agree share"), "loyalty_battery"),
          Panel("index", _t("Indice di fedeltà", "Loyalty index"), "loyalty_index"),
          Panel("net_shift", _t("Spostamento netto", "Net shift"), "net_shift", {"period": "quarter"}),
          Panel("bank", _t("Banco della fedeltà", "Loyalty bank"), "loyalty_bank"),
          Panel("price_gap", _t("Soglia di cambio per prezzo", "Price-switch threshold"), "price_gap")),
         _t("Servono risposte alla batteria della fedeltà (modello di sondaggio loyalty).",
            "Needs answers to the loyalty battery (the loyalty survey template).")),
    Page("paths", "/paths", _t("Percorsi", "Paths"),
         _t("Il grafo delle attività che si seguono, le varianti più frequenti e l'NPS per percorso vissuto.",
            "The directly-follows graph, the most frequent variants and NPS by the path lived."),
         (Panel("dfg", _t("Passaggi più frequenti", "Most frequent steps"), "dfg", chart="bars", label="source,target",
                value="count", low="", high=""),
          Panel("variants", _t("Varianti", "Variants"), "variants", {"top": 15}),
          Panel("path_loyalty", _t("NPS per variante vissuta", "NPS by variant lived"), "path_loyalty",
                {"top": 10}, chart="bars", label="variant", value="nps")),
         _t("Nessun evento: `momenti import events FILE` (CSV o XES).", "No events yet: `momenti import events FILE` "
            "(CSV or XES).")),
    Page("contact", "/contact", _t("Contact center", "Contact centre"),
         _t("Risoluzione al primo contatto, ricontatti, tempi di gestione, reclami e cambi di canale.",
            "First-contact resolution, repeat contacts, handling time, complaints and channel switching."),
         (Panel("fcr", _t("Risoluzione al primo contatto per canale", "First-contact resolution by channel"), "fcr",
                {"by": "channel"}, chart="bars", label="channel", value="fcr"),
          Panel("repeats", _t("Ricontatti per motivo", "Repeat contacts by reason"), "repeat_contacts",
                {"by": "reason"}, chart="bars", label="reason", value="repeat_rate"),
          Panel("aht", _t("Tempo di gestione per canale", "Handling time by channel"), "handling_time",
                {"by": "channel"}),
          Panel("complaints", _t("Reclami per canale", "Complaints by channel"), "complaint_rate", {"by": "channel"}),
          Panel("switching", _t("Cambi di canale", "Channel switching"), "channel_switching",
                chart="bars", label="from_channel,to_channel", value="switch_rate")),
         _t("Nessuna interazione: `momenti import events FILE`.",
            "No interactions yet: `momenti import events FILE`.")),
    Page("voice", "/voice", _t("Voce del cliente", "Voice of the customer"),
         _t("Temi e problemi emergenti con gli intervalli, il sentimento, e commenti d'esempio (mascherati, solo "
            "da gruppi abbastanza grandi).", "Topics and emerging issues with intervals, sentiment, and example "
            "comments (masked, only from large enough groups)."),
         (Panel("topics", _t("Temi", "Topics"), "topics", chart="bars", label="topic", value="share"),
          Panel("emerging", _t("Problemi emergenti", "Emerging issues"), "text_trends", {"emerging_only": True}),
          Panel("by_touchpoint", _t("Temi per punto di contatto", "Topics by touchpoint"), "topics",
                {"by": "touchpoint"}),
          Panel("comments", _t("Commenti d'esempio", "Example comments"), "comments", {"limit": 20},
                permission="comments.read")),
         _t("Nessun commento analizzato: importa risposte con testo libero o `momenti import feedback FILE`.",
            "No analysed comments: import responses with free text or `momenti import feedback FILE`.")),
    Page("retention", "/retention", _t("Fidelizzazione", "Retention"),
         _t("Curve di Kaplan–Meier per categoria NPS con gli intervalli di Greenwood, il test log-rank e i "
            "rapporti di rischio di Cox.", "Kaplan–Meier curves by NPS category with Greenwood intervals, the "
            "log-rank test and Cox hazard ratios."),
         (Panel("logrank", _t("Sopravvivenza mediana e log-rank", "Median survival and log-rank"), "logrank"),
          Panel("survival", _t("Kaplan–Meier per categoria NPS", "Kaplan–Meier by NPS category"), "survival",
                limit=30),
          Panel("cox", _t("Modello di Cox", "Cox model"), "cox", {"covariates": ["nps"]})),
         _t("Servono esiti (abbandoni): `momenti import outcomes FILE`.", "Needs outcomes (churn): `momenti import "
            "outcomes FILE`.")),
    Page("loop", "/loop", _t("Ciclo chiuso", "Closed loop"),
         _t("I casi aperti dalle regole: quanti clienti sono richiamati entro 48 ore (obiettivo 80 %), in quanto "
            "tempo (ore lavorative), SLA rispettati, riaperture, e quanti clienti sono recuperati.",
            "The cases the alert rules opened: how many customers are called back within 48 hours (target 80 %), "
            "how fast (business hours), SLAs met, reopened cases, and how many customers are won back."),
         (Panel("loop_teams", _t("Ciclo chiuso entro 48 ore per team", "Loop closed within 48 hours by team"),
                "case_metrics", {"by": "team"}, chart="bars", label="team", value="close_loop_rate"),
          Panel("loop_priority", _t("SLA e recupero per priorità", "SLA and recovery by priority"), "case_metrics",
                {"by": "priority"}, columns=("priority", "n", "loop_n", "close_loop_rate", "ci_low", "ci_high",
                                             "first_contact_median_h", "first_contact_p90_h", "sla_n",
                                             "sla_hit_rate", "reopen_rate", "recovery_n", "recovery_rate",
                                             "recovery_nps", "small_sample")),
          Panel("loop_month", _t("Recupero per mese", "Recovery by month"), "case_metrics", {"by": "month"},
                chart="bars", label="month", value="recovery_rate", low="recovery_ci_low",
                high="recovery_ci_high"),
          Panel("root_causes", _t("Cause radice per punto di contatto", "Root causes by touchpoint"),
                "case_root_causes"),
          Panel("recovery_retention", _t("Fidelizzazione: recuperati e no", "Retention: recovered or not"),
                "case_recovery_retention")),
         _t("Nessun caso: applicare le regole con `momenti rules apply rules.yaml` (modello: `momenti rules "
            "template`).", "No cases yet: apply alert rules with `momenti rules apply rules.yaml` (starter: "
            "`momenti rules template`).")),
)

BY_KEY = {p.key: p for p in PAGES}
# The navigation, the overview first (served by routes.py from views.overview: the journey map).
NAV: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("overview", "/", _t("Panoramica", "Overview")),
    *((p.key, p.path, p.title) for p in PAGES),
)
