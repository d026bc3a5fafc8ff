"""The customer base of Banca Esempio: visible attributes plus the hidden traits that drive behaviour.

Hidden traits (disposition, loyalty, price propensity, language, app use) never appear in the customers table;
they only show through answers, contacts and feedback, which is what the analytics must recover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from momenti.demo._util import choice_codes, decode, id_array, timestamps
from momenti.demo.config import DAY, WINDOW_END, WINDOW_START, YEAR

SEGMENTS = ("mass", "affluent", "small-business", "young", "private")
# Existing customers lean to mass/affluent; acquisitions in the window lean young (digital offers).
SEGMENT_W_EXISTING = (0.52, 0.20, 0.15, 0.12, 0.01)
SEGMENT_W_NEW = (0.42, 0.10, 0.10, 0.375, 0.005)

# Regions with a weight close to the bank's footprint (north-heavy, a few tiny regions on purpose: they make
# the small-sample groups the reports must flag) and the branches in each.
REGIONS: dict[str, tuple[float, tuple[str, ...]]] = {
    "Lombardia": (19.0, ("Milano Duomo", "Milano Isola", "Bergamo Centro", "Brescia", "Monza")),
    "Lazio": (10.5, ("Roma Prati", "Roma EUR", "Roma Tuscolana", "Latina")),
    "Campania": (8.0, ("Napoli Chiaia", "Napoli Vomero", "Salerno")),
    "Veneto": (9.0, ("Verona", "Padova", "Venezia Mestre", "Treviso")),
    "Emilia-Romagna": (8.5, ("Bologna Centro", "Modena", "Parma", "Rimini")),
    "Piemonte": (8.0, ("Torino Crocetta", "Torino Lingotto", "Novara")),
    "Toscana": (6.5, ("Firenze Rifredi", "Pisa", "Prato")),
    "Sicilia": (6.0, ("Palermo Libertà", "Catania", "Messina")),
    "Puglia": (5.5, ("Bari Murat", "Lecce", "Taranto")),
    "Liguria": (3.0, ("Genova Brignole", "La Spezia")),
    "Marche": (2.5, ("Ancona", "Pesaro")),
    "Friuli-Venezia Giulia": (2.2, ("Trieste", "Udine")),
    "Sardegna": (2.2, ("Cagliari", "Sassari")),
    "Calabria": (2.2, ("Cosenza", "Reggio Calabria")),
    "Abruzzo": (2.0, ("Pescara",)),
    "Trentino-Alto Adige": (1.8, ("Trento", "Bolzano")),
    "Umbria": (1.4, ("Perugia",)),
    "Basilicata": (0.6, ("Potenza",)),
    "Molise": (0.35, ("Campobasso",)),
    "Valle d'Aosta": (0.15, ("Aosta",)),
}
REGION_NAMES = tuple(REGIONS)
BRANCHES = tuple(b for _, (_, names) in REGIONS.items() for b in names)
_BRANCH_START = np.cumsum([0] + [len(v[1]) for v in REGIONS.values()])[:-1]
_BRANCH_COUNT = np.array([len(v[1]) for v in REGIONS.values()])

PRODUCT_LINES = ("Conto Semplice", "Conto Plus", "Conto Premium", "Conto Giovani", "Conto Business", "Private Banking")
# Product weights per segment (rows follow SEGMENTS, columns PRODUCT_LINES).
_PRODUCT_W = np.array(
    [
        [0.62, 0.38, 0.00, 0.00, 0.00, 0.00],
        [0.00, 0.22, 0.78, 0.00, 0.00, 0.00],
        [0.00, 0.00, 0.00, 0.00, 1.00, 0.00],
        [0.10, 0.00, 0.00, 0.90, 0.00, 0.00],
        [0.00, 0.00, 0.00, 0.00, 0.00, 1.00],
    ]
)

YOUNG = SEGMENTS.index("young")


@dataclass
class Population:
    """Customers as parallel numpy arrays (index = customer number - 1)."""

    n: int
    first_seen: np.ndarray  # int64 seconds
    is_new: np.ndarray  # acquired inside the window (onboarding happens in the data)
    segment: np.ndarray  # codes into SEGMENTS
    region: np.ndarray
    branch: np.ndarray  # codes into BRANCHES
    product: np.ndarray
    disposition: np.ndarray  # hidden: general satisfaction tendency, N(0, 1)-ish
    loyalty: np.ndarray  # hidden: attitudinal loyalty
    price_z: np.ndarray  # hidden: price propensity (z score)
    english: np.ndarray  # hidden: prefers English
    app_user: np.ndarray  # hidden: uses the mobile app
    churn_at: np.ndarray  # int64 seconds; WINDOW_END when the customer stays (set by the events step)

    @property
    def price_sensitivity(self) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.price_z))

    def table(self) -> pa.Table:
        return pa.table(
            {
                "customer_id": id_array("C", np.arange(1, self.n + 1), 6),
                "first_seen": timestamps(self.first_seen),
                "segment": decode(self.segment, SEGMENTS),
                "region": decode(self.region, REGION_NAMES),
                "product_line": decode(self.product, PRODUCT_LINES),
                "branch": decode(self.branch, BRANCHES),
                "price_sensitivity": pa.array(np.round(self.price_sensitivity, 3), type=pa.float64()),
            }
        )

    def outcomes(self) -> pa.Table:
        """The `outcomes` import table, read off the world once the event log has decided churn: a customer
        whose closure request no retention call saved is churned at the request (`churn_at`); every other
        customer is active (no end date: observed to the end of the data). start_date = first_seen."""
        churned = self.churn_at < WINDOW_END
        end = timestamps(np.where(churned, self.churn_at, 0))
        return pa.table(
            {
                "customer_id": id_array("C", np.arange(1, self.n + 1), 6),
                "status": decode(churned.astype(np.int32), ("active", "churned")),
                "start_date": timestamps(self.first_seen),
                "end_date": pa.array(end.to_numpy(zero_copy_only=False), type=end.type, mask=~churned),
            }
        )


def make_population(rng: np.random.Generator, n: int, new_share: float = 0.36) -> Population:
    is_new = rng.random(n) < new_share
    # Tenure of existing customers: many long-standing accounts, a tail back to the 1980s.
    tenure_years = 0.4 + rng.gamma(1.6, 5.0, n)
    first_existing = WINDOW_START - (np.minimum(tenure_years, 40.0) * YEAR).astype(np.int64)
    # Acquisitions grow a little over time (a campaign-driven bank), none in the last 10 days.
    span = WINDOW_END - 10 * DAY - WINDOW_START
    first_new = WINDOW_START + (np.sqrt(rng.random(n) * 0.6 + 0.4) - np.sqrt(0.4)) / (1 - np.sqrt(0.4)) * span
    first_seen = np.where(is_new, first_new.astype(np.int64), first_existing)
    first_seen = first_seen - first_seen % 60 + rng.integers(0, 60, n)

    segment = np.where(
        is_new, choice_codes(rng, SEGMENT_W_NEW, n), choice_codes(rng, SEGMENT_W_EXISTING, n)
    ).astype(np.int32)
    region = choice_codes(rng, [w for w, _ in REGIONS.values()], n)
    branch = (_BRANCH_START[region] + (rng.random(n) * _BRANCH_COUNT[region]).astype(np.int64)).astype(np.int32)
    cum = np.cumsum(_PRODUCT_W[segment], axis=1)
    product = np.minimum((cum < rng.random(n)[:, None]).sum(axis=1), len(PRODUCT_LINES) - 1).astype(np.int32)

    seg_shift = np.array([0.0, 0.2, -0.05, -0.1, 0.3])[segment]
    disposition = rng.normal(0.0, 1.0, n) + seg_shift
    young = segment == YOUNG
    long_tenure = (~is_new) & (tenure_years > 8)
    # Loyalty: partly satisfaction, partly habit (long tenure), lower among the young.
    loyalty = 0.45 * disposition + rng.normal(0.0, 0.85, n) - 0.75 * young + 0.35 * long_tenure
    price_shift = np.array([0.0, -0.5, 0.2, 1.45, -0.7])[segment]
    price_z = rng.normal(0.0, 0.8, n) + price_shift - 0.25 * loyalty
    english = rng.random(n) < 0.15
    app_p = np.array([0.80, 0.85, 0.88, 0.97, 0.70])[segment]
    app_user = rng.random(n) < app_p
    return Population(
        n=n,
        first_seen=first_seen.astype(np.int64),
        is_new=is_new,
        segment=segment,
        region=region,
        branch=branch,
        product=product,
        disposition=disposition,
        loyalty=loyalty,
        price_z=price_z,
        english=english,
        app_user=app_user,
        churn_at=np.full(n, WINDOW_END, dtype=np.int64),
    )
