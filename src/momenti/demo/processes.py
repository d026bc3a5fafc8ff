"""Process definitions of the interaction log: case types, their variants and the steps of each variant.

A case is one customer episode (an app session, a call, a complaint...). Each case type has a few variants;
``good`` and ``bad`` weights pick the variant from the case quality, so bad experiences show up in the log as
transfers, reminders, reopenings and abandoned calls, the way process mining expects to find them. The tables
here are compiled once into flat numpy arrays (:func:`compile_steps`) and expanded without Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from momenti.demo.config import DAY, HOUR, MINUTE, REASON_KEYS

# Duration kinds: how long the step itself lasts (only assisted contacts and queues have a duration).
DURATIONS = ("", "ivr", "wait", "talk", "chat", "desk", "queue")
ACTION = "@action"  # placeholder: the reason's operative activity (blocco carta, reset password, ...)


@dataclass(frozen=True)
class Step:
    activity: str
    channel: str
    touchpoint: str | None = None
    gap: float = 20.0  # median seconds between the end of the previous step and this one
    spread: float = 0.4  # lognormal sigma of the gap
    duration: str = ""  # one of DURATIONS
    agent: int = 0  # 0 none, 1 first agent, 2 second agent (after a transfer)
    outcome: str | None = None
    slow_when_bad: bool = False  # the gap stretches when the case goes badly (back offices)


@dataclass(frozen=True)
class Variant:
    steps: tuple[Step, ...]
    good: float
    bad: float
    surveys: tuple[str, ...] = ()
    release_boost: bool = False  # more frequent during the app release window (failed logins)


@dataclass(frozen=True)
class CaseType:
    key: str
    variants: tuple[Variant, ...]
    reasons: dict[str, float] = field(default_factory=dict)  # empty: the case has no reason
    multi_survey: bool = False  # onboarding: every surveyed moment may get its own survey


def _s(activity: str, channel: str, tp: str | None = None, gap: float = 20.0, **kw: object) -> Step:
    return Step(activity, channel, tp, gap, **kw)  # type: ignore[arg-type]


CC = "contact-centre-call"

# -- digital self-service -------------------------------------------------------------------------------------
_LOGIN = _s("login app", "app", "app-login", 0)
APP = CaseType(
    "app",
    (
        Variant((_LOGIN, _s("consultazione saldo", "app", gap=8), _s("consultazione movimenti", "app", gap=25)),
                30, 3, ("app-login",)),
        Variant((_LOGIN, _s("bonifico", "app", "money-transfer", 30), _s("conferma OTP", "app", "money-transfer", 25),
                 _s("logout", "app", gap=40)), 22, 2, ("money-transfer", "app-login")),
        Variant((_LOGIN, _s("ricarica telefonica", "app", gap=30), _s("conferma OTP", "app", gap=20)), 9, 1,
                ("app-login",)),
        Variant((_LOGIN, _s("pagamento bollettino", "app", gap=40), _s("conferma OTP", "app", gap=25),
                 _s("logout", "app", gap=30)), 8, 1, ("app-login",)),
        Variant((_LOGIN, _s("gestione carte", "app", gap=20), _s("modifica limiti carta", "app", gap=30)), 5, 1,
                ("app-login",)),
        Variant((_s("login fallito", "app", "app-login", 0), _s("login app", "app", "app-login", 30),
                 _s("consultazione saldo", "app", gap=10)), 4, 10, ("app-login",), release_boost=True),
        Variant((_s("login fallito", "app", "app-login", 0), _s("login fallito", "app", "app-login", 25),
                 _s("recupero password", "app", "app-login", 60), _s("login app", "app", "app-login", 240),
                 _s("consultazione saldo", "app", gap=10)), 1, 8, ("app-login",), release_boost=True),
        Variant((_s("login fallito", "app", "app-login", 0), _s("login fallito", "app", "app-login", 20),
                 _s("login fallito", "app", "app-login", 20), _s("accesso bloccato", "app", "app-login", 2)),
                0.4, 5, ("app-login",), release_boost=True),
    ),
)

WEB = CaseType(
    "web",
    (
        Variant((_s("login home banking", "web", gap=0), _s("download estratto conto", "web", gap=40),
                 _s("logout", "web", gap=30)), 20, 2),
        Variant((_s("login home banking", "web", gap=0), _s("bonifico", "web", "money-transfer", 45),
                 _s("conferma OTP", "web", "money-transfer", 30), _s("logout", "web", gap=30)), 25, 3,
                ("money-transfer",)),
        Variant((_s("login home banking", "web", gap=0), _s("consultazione movimenti", "web", gap=15)), 25, 2),
        Variant((_s("login home banking fallito", "web", gap=0), _s("recupero password", "web", gap=90),
                 _s("login home banking", "web", gap=200), _s("consultazione movimenti", "web", gap=15)), 2, 8),
    ),
)

# -- assisted contacts ----------------------------------------------------------------------------------------
_CALL = _s("chiamata contact center", "phone", CC, 0, duration="ivr")
_QUEUE = _s("attesa in coda", "phone", CC, 1, spread=0.2, duration="wait")
_TALK = _s("conversazione operatore", "phone", CC, 1, spread=0.2, duration="talk", agent=1)
_ACT1 = _s(ACTION, "phone", gap=5, agent=1)
_CLOSE_OK = _s("chiusura chiamata", "phone", CC, 20, agent=1, outcome="resolved")
_CONTACT_REASONS = {
    "password dimenticata": 0.12, "problemi accesso app": 0.07, "bonifico non arrivato": 0.13,
    "commissioni": 0.14, "addebito non riconosciuto": 0.10, "informazioni mutuo": 0.06,
    "aggiornamento dati": 0.10, "estratto conto": 0.08, "informazioni prodotto": 0.15, "rimborso": 0.05,
}
PHONE = CaseType(
    "phone",
    (
        Variant((_CALL, _QUEUE, _TALK, _ACT1, _CLOSE_OK), 60, 4, (CC,)),
        Variant((_CALL, _QUEUE, _TALK, _s("trasferimento", "phone", CC, 5, agent=1, outcome="transferred"),
                 _s("attesa in coda", "phone", CC, 1, spread=0.2, duration="wait"),
                 _s("conversazione operatore", "phone", CC, 1, spread=0.2, duration="talk", agent=2),
                 _s(ACTION, "phone", gap=5, agent=2), _s("chiusura chiamata", "phone", CC, 20, agent=2,
                                                         outcome="resolved")), 10, 10, (CC,)),
        Variant((_CALL, _QUEUE, _TALK, _s("chiusura chiamata", "phone", CC, 20, agent=1, outcome="unresolved")),
                3, 12, (CC,)),
        Variant((_CALL, _QUEUE, _s("abbandono chiamata", "phone", CC, 1, outcome="abandoned")), 2, 10),
        Variant((_CALL, _QUEUE, _TALK, _s("richiesta richiamata", "phone", CC, 5, agent=1, outcome="callback"),
                 _s("richiamata operatore", "phone", CC, 3 * HOUR, spread=0.8, duration="talk", agent=1,
                    slow_when_bad=True),
                 _ACT1, _CLOSE_OK), 5, 4, (CC,)),
    ),
    reasons=_CONTACT_REASONS,
)

_CHAT_START = (_s("avvio chat", "chat", "chat-assistant", 0), _s("risposta assistente virtuale", "chat",
                                                                  "chat-assistant", 4))
CHAT = CaseType(
    "chat",
    (
        Variant((*_CHAT_START, _s("chiusura chat", "chat", "chat-assistant", 60, outcome="resolved")), 25, 3,
                ("chat-assistant",)),
        Variant((*_CHAT_START, _s("passaggio a operatore", "chat", "chat-assistant", 40, duration="wait"),
                 _s("conversazione chat", "chat", "chat-assistant", 1, duration="chat", agent=1),
                 _s(ACTION, "chat", gap=10, agent=1),
                 _s("chiusura chat", "chat", "chat-assistant", 20, agent=1, outcome="resolved")), 30, 8,
                ("chat-assistant",)),
        Variant((*_CHAT_START, _s("passaggio a operatore", "chat", "chat-assistant", 40, duration="wait"),
                 _s("abbandono chat", "chat", "chat-assistant", 1, outcome="abandoned")), 3, 12),
        Variant((*_CHAT_START, _s("chiusura chat", "chat", "chat-assistant", 90, outcome="unresolved")), 4, 12,
                ("chat-assistant",)),
    ),
    reasons={**_CONTACT_REASONS, "problemi accesso app": 0.14, "informazioni mutuo": 0.02},
)

_BRANCH_IN = (_s("visita filiale", "branch", "branch-visit", 0),
              _s("attesa allo sportello", "branch", "branch-visit", 5, duration="queue"))
_BRANCH_DESK = _s("colloquio con consulente", "branch", "branch-visit", 1, duration="desk", agent=1)
BRANCH = CaseType(
    "branch",
    (
        Variant((*_BRANCH_IN, _BRANCH_DESK, _s(ACTION, "branch", gap=30, agent=1),
                 _s("fine visita", "branch", "branch-visit", 60, agent=1, outcome="resolved")), 55, 6,
                ("branch-visit",)),
        Variant((_s("prenotazione appuntamento", "app", gap=0), _s("visita filiale", "branch", "branch-visit",
                                                                   3 * DAY, spread=0.6),
                 _BRANCH_DESK, _s(ACTION, "branch", gap=30, agent=1),
                 _s("fine visita", "branch", "branch-visit", 60, agent=1, outcome="resolved")), 25, 3,
                ("branch-visit",)),
        Variant((*_BRANCH_IN, _BRANCH_DESK, _s("richiesta documenti", "branch", "branch-visit", 60, agent=1),
                 _s("fine visita", "branch", "branch-visit", 30, agent=1, outcome="unresolved")), 4, 14,
                ("branch-visit",)),
    ),
    reasons={"versamento": 0.30, "consulenza investimenti": 0.22, "informazioni mutuo": 0.10,
             "aggiornamento dati": 0.15, "commissioni": 0.13, "informazioni prodotto": 0.10},
)

_CARD_CALL = (_CALL, _QUEUE, _TALK, _s("blocco carta", "phone", "card-block", 5, agent=1),
              _s("richiesta nuova carta", "phone", "card-block", 30, agent=1))
CARD = CaseType(
    "card",
    (
        Variant((*_CARD_CALL, _CLOSE_OK, _s("spedizione nuova carta", "mail", "card-delivery", DAY, spread=0.3),
                 _s("consegna carta", "mail", "card-delivery", 3 * DAY, spread=0.3, slow_when_bad=True)),
                50, 6, ("card-block",)),
        Variant((*_CARD_CALL, _CLOSE_OK, _s("spedizione nuova carta", "mail", "card-delivery", 2 * DAY),
                 _s("consegna carta", "mail", "card-delivery", 9 * DAY, spread=0.4, slow_when_bad=True)),
                6, 14, ("card-block",)),
        Variant((_CALL, _QUEUE, _TALK, _s("blocco carta", "phone", "card-block", 5, agent=1),
                 _s("chiusura chiamata", "phone", CC, 20, agent=1, outcome="unresolved")), 2, 12, ("card-block",)),
        Variant((_s("visita filiale", "branch", "branch-visit", 0), _BRANCH_DESK,
                 _s("blocco carta", "branch", "card-block", 30, agent=1),
                 _s("richiesta nuova carta", "branch", "card-block", 60, agent=1, outcome="resolved"),
                 _s("consegna carta", "mail", "card-delivery", 4 * DAY, spread=0.3, slow_when_bad=True)),
                12, 3, ("card-block",)),
    ),
    reasons={"carta bloccata": 1.0},
)

# A same-reason contact a few days later: chasing the new card, the unblock, the transfer...
CARD_FOLLOWUP = CaseType(
    "card-followup",
    (
        Variant((_CALL, _QUEUE, _TALK, _s("verifica stato carta", "phone", "card-block", 10, agent=1),
                 _s("chiusura chiamata", "phone", CC, 20, agent=1, outcome="resolved")), 30, 10, ("card-block",)),
        Variant((_CALL, _QUEUE, _TALK, _s("verifica stato carta", "phone", "card-block", 10, agent=1),
                 _s("nuovo blocco carta", "phone", "card-block", 30, agent=1),
                 _s("chiusura chiamata", "phone", CC, 20, agent=1, outcome="unresolved")), 5, 15, ("card-block",)),
        Variant((*_CHAT_START, _s("passaggio a operatore", "chat", "chat-assistant", 40, duration="wait"),
                 _s("conversazione chat", "chat", "chat-assistant", 1, duration="chat", agent=1),
                 _s("verifica stato carta", "chat", "card-block", 10, agent=1),
                 _s("chiusura chat", "chat", "chat-assistant", 20, agent=1, outcome="resolved")), 10, 4,
                ("card-block",)),
        Variant((_s("visita filiale", "branch", "branch-visit", 0), _BRANCH_DESK,
                 _s("verifica stato carta", "branch", "card-block", 30, agent=1),
                 _s("fine visita", "branch", "branch-visit", 30, agent=1, outcome="resolved")), 8, 4,
                ("card-block",)),
    ),
    reasons={"carta bloccata": 1.0},
)

EMAIL = CaseType(
    "email",
    (
        Variant((_s("email al servizio clienti", "email", gap=0),
                 _s("presa in carico email", "email", gap=5 * HOUR, spread=0.7, agent=1, slow_when_bad=True),
                 _s("risposta via email", "email", gap=6 * HOUR, spread=0.8, agent=1, outcome="resolved",
                    slow_when_bad=True)), 40, 6),
        Variant((_s("email al servizio clienti", "email", gap=0),
                 _s("sollecito cliente", "email", gap=3 * DAY, spread=0.5),
                 _s("presa in carico email", "email", gap=8 * HOUR, agent=1),
                 _s("risposta via email", "email", gap=2 * DAY, agent=1, outcome="unresolved")), 3, 14),
    ),
    reasons=_CONTACT_REASONS,
)

# -- back-office processes ------------------------------------------------------------------------------------
CH = "complaint-handling"
_C_TAKE = _s("presa in carico reclamo", "email", CH, DAY, spread=0.6, agent=1)
_C_ANSWER = _s("risposta al cliente", "email", CH, 8 * DAY, spread=0.5, agent=1, slow_when_bad=True)
_C_CLOSE = _s("chiusura reclamo", "email", CH, 2 * DAY, spread=0.5, agent=1, outcome="resolved")
COMPLAINT = CaseType(
    "complaint",
    (
        Variant((_s("apertura reclamo", "email", CH, 0), _C_TAKE, _C_ANSWER, _C_CLOSE), 45, 3, (CH,)),
        Variant((_s("apertura reclamo", "web", CH, 0), _C_TAKE,
                 _s("richiesta documentazione", "email", CH, 2 * DAY, agent=1),
                 _s("ricezione documentazione", "email", CH, 4 * DAY, spread=0.6), _C_ANSWER, _C_CLOSE), 20, 6, (CH,)),
        Variant((_s("apertura reclamo", "branch", CH, 0), _C_TAKE, _C_ANSWER,
                 _s("rimborso accreditato", "web", "refund-request", 3 * DAY), _C_CLOSE), 12, 2, (CH,)),
        Variant((_s("apertura reclamo", "email", CH, 0), _C_TAKE,
                 _s("sollecito cliente", "email", CH, 15 * DAY, spread=0.4),
                 _s("sollecito cliente", "phone", CH, 10 * DAY, spread=0.4),
                 _s("risposta al cliente", "email", CH, 12 * DAY, agent=1),
                 _s("chiusura reclamo", "email", CH, 2 * DAY, agent=1, outcome="unresolved")), 1, 25, (CH,)),
        Variant((_s("apertura reclamo", "web", CH, 0), _C_TAKE, _C_ANSWER,
                 _s("chiusura reclamo", "email", CH, DAY, agent=1, outcome="rejected"),
                 _s("riapertura reclamo", "email", CH, 6 * DAY, spread=0.5),
                 _s("escalation ufficio reclami", "email", CH, 2 * DAY, agent=2),
                 _s("risposta al cliente", "email", CH, 10 * DAY, agent=2), _C_CLOSE), 2, 14, (CH,)),
        Variant((_s("apertura reclamo", "email", CH, 0), _C_TAKE, _C_ANSWER,
                 _s("chiusura reclamo", "email", CH, DAY, agent=1, outcome="rejected"),
                 _s("ricorso ABF", "other", CH, 20 * DAY, spread=0.5)), 0.2, 6, (CH,)),
    ),
    reasons={"commissioni": 0.25, "bonifico non arrivato": 0.12, "addebito non riconosciuto": 0.14,
             "rimborso": 0.09, "carta bloccata": 0.07, "tempi di attesa": 0.10, "cortesia personale": 0.07,
             "problemi accesso app": 0.08, "mutuo": 0.08},
)

REFUND = CaseType(
    "refund",
    (
        Variant((_s("richiesta rimborso", "web", "refund-request", 0),
                 _s("verifica pratica rimborso", "other", "refund-request", 2 * DAY, slow_when_bad=True),
                 _s("rimborso accreditato", "web", "refund-request", 3 * DAY, outcome="resolved",
                    slow_when_bad=True)), 40, 6, ("refund-request",)),
        Variant((_s("richiesta rimborso", "web", "refund-request", 0),
                 _s("verifica pratica rimborso", "other", "refund-request", 4 * DAY),
                 _s("rimborso respinto", "email", "refund-request", 5 * DAY, outcome="rejected")), 4, 18,
                ("refund-request",)),
    ),
    reasons={"addebito non riconosciuto": 0.6, "rimborso": 0.4},
)

MG = "mortgage-application"
MORTGAGE = CaseType(
    "mortgage",
    (
        Variant((_s("richiesta mutuo", "branch", MG, 0, agent=1),
                 _s("consulenza mutuo", "branch", MG, 3 * DAY, agent=1),
                 _s("perizia immobile", "other", MG, 10 * DAY, spread=0.5),
                 _s("delibera mutuo", "branch", MG, 12 * DAY, spread=0.5, agent=1, slow_when_bad=True),
                 _s("stipula mutuo", "branch", MG, 20 * DAY, spread=0.4, agent=1, outcome="approved")), 40, 6, (MG,)),
        Variant((_s("richiesta mutuo", "web", MG, 0), _s("consulenza mutuo", "branch", MG, 5 * DAY, agent=1),
                 _s("richiesta integrazione documenti", "email", MG, 7 * DAY, agent=1),
                 _s("perizia immobile", "other", MG, 12 * DAY),
                 _s("delibera mutuo", "branch", MG, 20 * DAY, agent=1, slow_when_bad=True),
                 _s("stipula mutuo", "branch", MG, 20 * DAY, agent=1, outcome="approved")), 8, 14, (MG,)),
        Variant((_s("richiesta mutuo", "branch", MG, 0, agent=1),
                 _s("consulenza mutuo", "branch", MG, 3 * DAY, agent=1),
                 _s("mutuo rifiutato", "email", MG, 15 * DAY, agent=1, outcome="declined")), 3, 8, (MG,)),
    ),
)

SOCIAL = CaseType(
    "social",
    (
        Variant((_s("messaggio social", "social", "social-media", 0),
                 _s("risposta social care", "social", "social-media", 2 * HOUR, spread=0.9, agent=1,
                    outcome="resolved", slow_when_bad=True)), 20, 8, ("social-media",)),
    ),
)

# -- life-cycle processes -------------------------------------------------------------------------------------
_SITE = _s("visita sito", "web", "website-visit", 0)
_SIM = _s("simulazione offerta", "web", "offer-comparison", 10 * MINUTE, spread=0.6)
_WELCOME = (_s("email di benvenuto", "email", "onboarding-welcome", 2 * HOUR),
            _s("spedizione carta", "mail", "card-delivery", DAY, spread=0.3),
            _s("consegna carta", "mail", "card-delivery", 4 * DAY, spread=0.3, slow_when_bad=True),
            _s("primo accesso app", "app", "app-login", DAY, spread=0.8))
_ONLINE = (_s("richiesta apertura online", "web", "account-opening", 15 * MINUTE),
           _s("riconoscimento video", "app", "identity-check", 30 * MINUTE, spread=0.8))
_SIGN = _s("firma digitale", "web", "account-opening", 20 * MINUTE)
_ONB_SURVEYS = ("website-visit", "offer-comparison", "account-opening", "onboarding-welcome", "card-delivery")
ONBOARDING = CaseType(
    "onboarding",
    (
        Variant((_SITE, _SIM, _s("prenotazione appuntamento", "web", gap=20 * MINUTE),
                 _s("visita filiale", "branch", "branch-visit", 3 * DAY, spread=0.5),
                 _s("apertura conto", "branch", "account-opening", 20 * MINUTE, agent=1),
                 _s("firma contratto", "branch", "account-opening", 25 * MINUTE, agent=1, outcome="completed"),
                 *_WELCOME), 45, 6, (*_ONB_SURVEYS, "branch-visit")),
        Variant((_SITE, _SIM, *_ONLINE, _SIGN, *_WELCOME), 40, 6, (*_ONB_SURVEYS, "identity-check")),
        Variant((_SITE, _SIM, *_ONLINE, _s("riconoscimento non riuscito", "app", "identity-check", 2 * MINUTE),
                 _s("chiamata contact center", "phone", CC, DAY, spread=0.5, duration="talk", agent=1),
                 _s("riconoscimento video", "app", "identity-check", 2 * HOUR, spread=0.6), _SIGN, *_WELCOME),
                4, 20, (*_ONB_SURVEYS, "identity-check")),
        Variant((_SITE, _s("apertura conto", "branch", "account-opening", 2 * DAY, agent=1),
                 _s("firma contratto", "branch", "account-opening", 25 * MINUTE, agent=1, outcome="completed"),
                 _s("email di benvenuto", "email", "onboarding-welcome", 2 * HOUR),
                 _s("spedizione carta", "mail", "card-delivery", 2 * DAY),
                 _s("sollecito consegna carta", "phone", CC, 8 * DAY, duration="talk", agent=1),
                 _s("consegna carta", "mail", "card-delivery", 6 * DAY, slow_when_bad=True),
                 _s("primo accesso app", "app", "app-login", DAY)), 1, 14, _ONB_SURVEYS),
        Variant((_s("messaggio social", "social", "social-media", 0), _SITE, _SIM, *_ONLINE, _SIGN, *_WELCOME),
                6, 1, (*_ONB_SURVEYS, "identity-check")),
    ),
    multi_survey=True,
)

CLOSURE = CaseType(
    "closure",
    (
        Variant((_s("richiesta chiusura conto", "branch", "account-closure", 0, agent=1),
                 _s("chiamata di retention", "phone", "retention-call", DAY, spread=0.6, duration="talk", agent=2),
                 _s("chiusura conto", "branch", "account-closure", 10 * DAY, spread=0.3, agent=1, outcome="closed")),
                50, 50, ("retention-call", "account-closure")),
        Variant((_s("richiesta chiusura conto", "web", "account-closure", 0),
                 _s("chiusura conto", "branch", "account-closure", 11 * DAY, spread=0.3, agent=1, outcome="closed")),
                50, 50, ("account-closure",)),
    ),
    multi_survey=True,
)

RETENTION_SAVE = CaseType(
    "retention-save",
    (
        Variant((_s("richiesta chiusura conto", "branch", "account-closure", 0, agent=1),
                 _s("chiamata di retention", "phone", "retention-call", DAY, spread=0.6, duration="talk", agent=2),
                 _s("offerta di retention accettata", "phone", "retention-call", 2 * DAY, agent=2,
                    outcome="retained")), 1, 1, ("retention-call",)),
    ),
)

CASE_TYPES: tuple[CaseType, ...] = (
    APP, WEB, PHONE, CHAT, BRANCH, CARD, CARD_FOLLOWUP, EMAIL, COMPLAINT, REFUND, MORTGAGE, SOCIAL,
    ONBOARDING, CLOSURE, RETENTION_SAVE,
)
CASE_INDEX: dict[str, int] = {c.key: i for i, c in enumerate(CASE_TYPES)}


@dataclass
class CompiledSteps:
    """Every step of every variant in flat arrays; a variant is a contiguous slice."""

    activities: list[str]
    touchpoints: list[str]
    channels: list[str]
    variant_case_type: np.ndarray  # case type of each global variant
    variant_start: np.ndarray  # first step of each global variant
    variant_len: np.ndarray
    variant_good: np.ndarray
    variant_bad: np.ndarray
    variant_boost: np.ndarray
    variant_surveys: list[tuple[str, ...]]
    step_activity: np.ndarray  # code into activities, -1 = the reason's action
    step_touchpoint: np.ndarray  # code into touchpoints, -1 = none
    step_channel: np.ndarray
    step_log_gap: np.ndarray
    step_spread: np.ndarray
    step_duration: np.ndarray  # code into DURATIONS
    step_agent: np.ndarray
    step_outcome: np.ndarray  # code into outcomes, -1 = none
    step_slow: np.ndarray
    outcomes: list[str]
    reason_weights: np.ndarray  # case type x REASON_KEYS


def compile_steps(reason_actions: dict[str, tuple[str, str | None]]) -> CompiledSteps:
    activities: list[str] = sorted({a for a, _ in reason_actions.values()})
    touchpoints: list[str] = sorted({t for _, t in reason_actions.values() if t})
    channels: list[str] = []
    outcomes: list[str] = []

    def code(table: list[str], value: str | None) -> int:
        if value is None:
            return -1
        if value not in table:
            table.append(value)
        return table.index(value)

    v_ct, v_start, v_len, v_good, v_bad, v_boost, v_surveys = [], [], [], [], [], [], []
    rows: list[tuple[int, int, int, float, float, int, int, int, int]] = []
    for ci, ct in enumerate(CASE_TYPES):
        for v in ct.variants:
            v_ct.append(ci)
            v_start.append(len(rows))
            v_len.append(len(v.steps))
            v_good.append(v.good)
            v_bad.append(v.bad)
            v_boost.append(v.release_boost)
            v_surveys.append(v.surveys)
            for st in v.steps:
                act = -1 if st.activity == ACTION else code(activities, st.activity)
                rows.append((act, code(touchpoints, st.touchpoint), code(channels, st.channel),
                             float(np.log(max(st.gap, 1.0))), st.spread, DURATIONS.index(st.duration), st.agent,
                             code(outcomes, st.outcome), int(st.slow_when_bad)))
    cols = list(zip(*rows, strict=True))
    weights = np.zeros((len(CASE_TYPES), len(REASON_KEYS)))
    for ci, ct in enumerate(CASE_TYPES):
        for reason, w in ct.reasons.items():
            weights[ci, REASON_KEYS.index(reason)] = w
    return CompiledSteps(
        activities=activities, touchpoints=touchpoints, channels=channels,
        variant_case_type=np.array(v_ct), variant_start=np.array(v_start), variant_len=np.array(v_len),
        variant_good=np.array(v_good, dtype=float), variant_bad=np.array(v_bad, dtype=float),
        variant_boost=np.array(v_boost, dtype=bool), variant_surveys=v_surveys,
        step_activity=np.array(cols[0]), step_touchpoint=np.array(cols[1]), step_channel=np.array(cols[2]),
        step_log_gap=np.array(cols[3]), step_spread=np.array(cols[4]), step_duration=np.array(cols[5]),
        step_agent=np.array(cols[6]), step_outcome=np.array(cols[7]), step_slow=np.array(cols[8], dtype=bool),
        outcomes=outcomes, reason_weights=weights,
    )
