"""Entry point of the demo generator: ``generate(size, seed) -> DemoData``.

Each part (customers, events, responses, feedback, texts) gets its own random stream spawned from one seed
sequence, so a change in one part does not reshuffle the others, and the same seed always gives byte-identical
tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from momenti.demo.config import RATED, REASONS, SIZES, TOPIC_TOUCHPOINT, TOUCHPOINTS, TRUTHS
from momenti.demo.customers import make_population
from momenti.demo.events import build_event_log
from momenti.demo.feedback import build_feedback
from momenti.demo.processes import CASE_TYPES
from momenti.demo.responses import relationship, to_table, transactional
from momenti.demo.text import Composer

TEMPLATE = "bank"
TABLES = ("customers", "responses", "events", "feedback", "outcomes")


@dataclass
class DemoData:
    """The demo world of Banca Esempio: its journey document and the five import tables."""

    journey: dict[str, Any]
    customers: pa.Table
    responses: pa.Table
    events: pa.Table
    feedback: pa.Table
    outcomes: pa.Table  # one row per customer: active, or churned at the closure request no one saved
    truths: dict[str, Any] = field(default_factory=dict)  # planted parameters (see docs/demo-truths.md)

    def tables(self) -> dict[str, pa.Table]:
        return {name: getattr(self, name) for name in TABLES}

    def write(self, directory: str | Path, fmt: str = "parquet") -> dict[str, Path]:
        """Write journey.yaml plus one file per table (parquet or csv); returns the paths by name."""
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"format must be parquet or csv, not {fmt!r}")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"journey": out / "journey.yaml"}
        paths["journey"].write_text(load_journey_text(), encoding="utf-8")
        for name, table in self.tables().items():
            path = out / f"{name}.{fmt}"
            if fmt == "parquet":
                pq.write_table(table, path)
            else:
                pacsv.write_csv(table, path)
            paths[name] = path
        return paths


def load_journey_text(name: str = TEMPLATE) -> str:
    return (resources.files("momenti.domains.journey_map") / "templates" / f"{name}.yaml").read_text("utf-8")


def load_journey(name: str = TEMPLATE) -> dict[str, Any]:
    return yaml.safe_load(load_journey_text(name))


def template_channels(journey: dict[str, Any]) -> dict[str, str]:
    """Touchpoint key -> channel, over every journey and stage of the document."""
    return {
        tp["key"]: tp["channel"]
        for j in journey["journeys"]
        for stage in j["stages"]
        for tp in stage.get("touchpoints", [])
    }


def _check_template(channels: dict[str, str]) -> None:
    """The generator and the template must agree on touchpoint keys; fail loudly if someone renames one."""
    used = set(TOUCHPOINTS) | set(RATED) | {t for _, t in REASONS.values() if t}
    used |= {t for t in TOPIC_TOUCHPOINT.values() if t} | {"relationship-survey"}
    for ct in CASE_TYPES:
        for v in ct.variants:
            used |= {s.touchpoint for s in v.steps if s.touchpoint} | set(v.surveys)
    missing = sorted(used - set(channels))
    if missing:
        raise ValueError(f"demo touchpoints missing from the {TEMPLATE} template: {', '.join(missing)}")


def generate(size: str = "default", seed: int = 42) -> DemoData:
    """Generate the Banca Esempio demo world.

    ``size``: ``small`` (~2 k customers, for tests), ``default`` (20 k customers, ~1.8 M events) or ``large``
    (5x default). The same ``seed`` always produces byte-identical tables.
    """
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; choose one of: {', '.join(SIZES)}")
    spec = SIZES[size]
    journey = load_journey()
    channels = template_channels(journey)
    _check_template(channels)

    seq = np.random.SeedSequence(seed)
    r_pop, r_events, r_resp, r_feedback, r_text = (np.random.default_rng(s) for s in seq.spawn(5))
    composer = Composer(int(r_text.integers(0, 2**63 - 1)))

    pop = make_population(r_pop, spec.customers)
    log = build_event_log(r_events, pop, spec)  # also decides churn (pop.churn_at)
    customers = pop.table()
    ids = customers.column("customer_id").combine_chunks()
    events = log.table(ids)
    answers = [
        transactional(r_resp, pop, log, spec, channels, composer),
        relationship(r_resp, pop, log, composer),
    ]
    responses = to_table(answers, ids, channels, pop.english)
    feedback = build_feedback(r_feedback, pop, log, spec, composer, ids)
    return DemoData(
        journey=journey,
        customers=customers,
        responses=responses,
        events=events,
        feedback=feedback,
        outcomes=pop.outcomes(),
        truths={"size": size, "seed": seed, **TRUTHS.as_dict()},
    )
