"""Parameters of the demo world: sizes, time window, planted truths, per-touchpoint score levels.

The planted truths live in one frozen dataclass so that the generator, the tests and docs/demo-truths.md all
point at the same numbers; change a number here and the documented expectation changes with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DAY = 86_400
HOUR = 3_600
MINUTE = 60
YEAR = 365.25 * DAY

# 24 full months ending 2026-10-31 (end exclusive).
WINDOW_START = int(np.datetime64("2024-11-01T00:00:00", "s").astype(np.int64))
WINDOW_END = int(np.datetime64("2026-11-01T00:00:00", "s").astype(np.int64))
N_MONTHS = 24


@dataclass(frozen=True)
class SizeSpec:
    customers: int
    activity: float  # multiplies the app / home-banking session rates: the bulk of the event log
    contacts: float  # multiplies routine contacts (calls, chats, branch visits, e-mails)
    surveys: float  # multiplies transactional survey response rates (after undoing the log thinning)
    public_posts: int  # reviews + social posts (complaints and e-mails come from the event log)


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(customers=2_000, activity=0.2, contacts=0.5, surveys=0.5, public_posts=450),
    "default": SizeSpec(customers=20_000, activity=1.0, contacts=1.0, surveys=1.0, public_posts=5_500),
    "large": SizeSpec(customers=100_000, activity=1.0, contacts=1.0, surveys=1.0, public_posts=27_500),
}


@dataclass(frozen=True)
class Truths:
    """Effects planted in the data; docs/demo-truths.md explains how to recover each one."""

    # 1. Complaint handling: asymmetric penalty on relationship NPS (latent 0-10 points).
    complaint_low_max: int = 4  # rating_complaint_handling <= 4 is a bad experience
    complaint_high_min: int = 8  # >= 8 is a good one
    complaint_penalty: float = -2.8
    complaint_mid: float = 0.0
    complaint_reward: float = 0.2
    # 2. App release: CSAT on app-login drops for two months, login failures and app complaints spike.
    release_start: str = "2026-03-01"
    release_end: str = "2026-05-01"
    release_csat_shift: float = -0.9  # latent shift; observed mean CSAT drop is about 0.8
    release_ces_shift: float = -0.6
    release_rating_shift: float = -1.2  # rating_app_login in the relationship survey
    release_failure_boost: float = 6.0  # weight multiplier of failed-login session variants
    release_app_topic_boost: float = 5.0  # weight of the app topic in public posts
    release_app_reason_boost: float = 3.0  # app / password reasons in contacts and complaints
    # 3. Repeat contacts: probability of a same-reason contact again within 7 days.
    repeat_window_days: int = 7
    card_repeat_p: float = 0.35
    other_repeat_p: float = 0.07
    # 4. First-time customers (first_seen < 12 months before the answer) are less loyal.
    first_time_days: int = 365
    first_time_nps_shift: float = -0.45  # latent 0-10 points, relationship NPS
    first_time_tnps_shift: float = -0.9  # transactional NPS (its latent spread is wider)
    # 5. Price sensitivity: young switch for <= 10 %, truly loyal not even at 25 %.
    price_cuts: tuple[float, ...] = (-1.3, -0.5, 0.2, 0.8, 1.5)  # thresholds on the switch propensity
    price_labels: tuple[str, ...] = ("5", "10", "15", "25", "50", "never")
    # 6. Weakest link: one rating <= 3 costs more than the mean rating predicts.
    weakest_link_max: int = 3
    weakest_link_penalty: float = -1.8
    # 7. Per-touchpoint NPS differ; month-to-month noise on every touchpoint (latent sd).
    month_noise_sd: float = 0.12
    # Retention: a bad complaint pushes some customers out.
    bad_complaint_churn_p: float = 0.30
    retention_save_p: float = 0.25

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


TRUTHS = Truths()


@dataclass(frozen=True)
class TouchpointModel:
    """How a touchpoint's transactional survey looks and scores in the demo world."""

    questions: tuple[str, ...]  # answer columns asked (first = headline metric)
    response_p: float  # chance that a lived moment produces an answer
    nps: float = 7.5  # latent NPS centre (0-10)
    csat: float = 4.0  # latent CSAT centre (1-5)
    ces: float = 5.2  # latent CES centre (1-7, higher = easier)
    topics: tuple[str, ...] = ()  # what comments talk about


TOUCHPOINTS: dict[str, TouchpointModel] = {
    "website-visit": TouchpointModel(("csat",), 0.10, csat=3.9, topics=("commissioni", "app")),
    "social-media": TouchpointModel(("csat",), 0.30, csat=3.5, topics=("cortesia", "attesa")),
    "offer-comparison": TouchpointModel(("ces",), 0.12, ces=5.3, topics=("commissioni",)),
    "branch-visit": TouchpointModel(("nps", "csat"), 0.45, nps=8.9, csat=4.4, topics=("filiale", "cortesia")),
    "account-opening": TouchpointModel(("nps", "ces"), 0.55, nps=9.4, ces=5.6, topics=("filiale", "cortesia")),
    "identity-check": TouchpointModel(("ces",), 0.30, ces=5.0, topics=("app",)),
    "onboarding-welcome": TouchpointModel(("csat",), 0.45, csat=4.2, topics=("app", "carta")),
    "card-delivery": TouchpointModel(("csat",), 0.25, csat=4.0, topics=("carta",)),
    "app-login": TouchpointModel(("csat", "ces"), 0.17, csat=4.25, ces=5.8, topics=("app",)),
    "money-transfer": TouchpointModel(("ces", "csat"), 0.12, csat=4.2, ces=5.9, topics=("bonifico", "app")),
    "contact-centre-call": TouchpointModel(("nps", "ces"), 0.55, nps=7.3, ces=4.6, topics=("attesa", "cortesia")),
    "card-block": TouchpointModel(("nps", "ces"), 0.50, nps=7.0, ces=4.5, topics=("carta", "attesa")),
    "chat-assistant": TouchpointModel(("csat", "ces"), 0.40, csat=3.7, ces=4.8, topics=("attesa", "app")),
    "mortgage-application": TouchpointModel(("nps", "csat"), 0.45, nps=8.0, csat=3.9, topics=("mutuo",)),
    "complaint-handling": TouchpointModel(("nps", "csat"), 0.50, nps=6.2, csat=2.9, topics=("rimborso",)),
    "refund-request": TouchpointModel(("csat", "ces"), 0.35, csat=3.4, ces=4.4, topics=("rimborso",)),
    "retention-call": TouchpointModel(("nps",), 0.35, nps=7.0, topics=("commissioni", "cortesia")),
    "account-closure": TouchpointModel(("ces", "nps"), 0.40, nps=5.8, ces=4.2, topics=("commissioni", "filiale")),
}

# Touchpoints rated 1-10 in the relationship survey: centre of the rating and weight on relationship NPS.
# complaint-handling has no linear weight: its effect is the asymmetric step in Truths.
RATED: dict[str, tuple[float, float]] = {
    "account-opening": (8.0, 0.10),
    "onboarding-welcome": (7.8, 0.04),
    "app-login": (7.9, 0.16),
    "money-transfer": (7.8, 0.06),
    "branch-visit": (8.1, 0.14),
    "contact-centre-call": (6.6, 0.20),
    "card-block": (6.4, 0.12),
    "chat-assistant": (6.8, 0.05),
    "mortgage-application": (7.0, 0.12),
    "complaint-handling": (6.0, 0.0),
    "refund-request": (6.0, 0.08),
}

RELATIONSHIP = "relationship-survey"

# Reasons for contacts, with the operative activity an agent performs and the touchpoint it belongs to.
REASONS: dict[str, tuple[str, str | None]] = {
    "carta bloccata": ("blocco carta", "card-block"),
    "password dimenticata": ("reset password", "app-login"),
    "problemi accesso app": ("assistenza accesso app", "app-login"),
    "bonifico non arrivato": ("verifica bonifico", "money-transfer"),
    "commissioni": ("verifica commissioni", None),
    "addebito non riconosciuto": ("disconoscimento addebito", "refund-request"),
    "rimborso": ("verifica rimborso", "refund-request"),
    "informazioni mutuo": ("informazioni mutuo", "mortgage-application"),
    "aggiornamento dati": ("aggiornamento anagrafica", None),
    "estratto conto": ("invio estratto conto", None),
    "informazioni prodotto": ("informazioni prodotto", None),
    "versamento": ("versamento allo sportello", None),
    "consulenza investimenti": ("consulenza investimenti", None),
    "tempi di attesa": ("verifica segnalazione", None),
    "cortesia personale": ("verifica segnalazione", None),
    "mutuo": ("verifica pratica mutuo", "mortgage-application"),
}
REASON_KEYS: tuple[str, ...] = tuple(REASONS)
APP_REASONS = ("password dimenticata", "problemi accesso app")

# Which text topic a contact reason is about (comments and complaints talk about the reason).
REASON_TOPIC: dict[str, str] = {
    "carta bloccata": "carta",
    "password dimenticata": "app",
    "problemi accesso app": "app",
    "bonifico non arrivato": "bonifico",
    "commissioni": "commissioni",
    "addebito non riconosciuto": "rimborso",
    "rimborso": "rimborso",
    "informazioni mutuo": "mutuo",
    "aggiornamento dati": "cortesia",
    "estratto conto": "commissioni",
    "informazioni prodotto": "cortesia",
    "versamento": "filiale",
    "consulenza investimenti": "filiale",
    "tempi di attesa": "attesa",
    "cortesia personale": "cortesia",
    "mutuo": "mutuo",
}

# The touchpoint a piece of unsolicited feedback is about, by topic (None: about the bank in general).
TOPIC_TOUCHPOINT: dict[str, str | None] = {
    "attesa": "contact-centre-call",
    "cortesia": "contact-centre-call",
    "app": "app-login",
    "commissioni": None,
    "carta": "card-block",
    "rimborso": "refund-request",
    "filiale": "branch-visit",
    "bonifico": "money-transfer",
    "mutuo": "mortgage-application",
}
TOPICS: tuple[str, ...] = tuple(TOPIC_TOUCHPOINT)


def release_bounds() -> tuple[int, int]:
    """The app release window as epoch seconds [start, end)."""
    start = int(np.datetime64(TRUTHS.release_start + "T00:00:00", "s").astype(np.int64))
    end = int(np.datetime64(TRUTHS.release_end + "T00:00:00", "s").astype(np.int64))
    return start, end
