"""The demo generator: shape of the tables, determinism, integrity, and every planted truth on the raw tables.

Planted truths are checked with plain pandas so that a bug in an analysis module cannot hide a bug here (and the
other way round). Thresholds are set well inside what `small` produces for any seed, but far enough from "no
effect" that a broken generator fails. docs/demo-truths.md documents the magnitudes.
"""

from __future__ import annotations

import io
import re
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
import yaml

from momenti.demo import TRUTHS, generate
from momenti.demo.config import RATED, SIZES

TS = pa.timestamp("us", tz="UTC")
START = pd.Timestamp("2024-11-01", tz="UTC")
END = pd.Timestamp("2026-11-01", tz="UTC")
RELEASE = (pd.Timestamp(TRUTHS.release_start, tz="UTC"), pd.Timestamp(TRUTHS.release_end, tz="UTC"))
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
CHANNELS = {"branch", "app", "web", "phone", "email", "chat", "social", "mail", "store", "airport", "onboard", "other"}
TEMPLATES = ("bank", "telco", "airline")
REL = "relationship-survey"

S, I64, F64 = pa.string(), pa.int64(), pa.float64()
SCHEMAS = {
    "customers": [("customer_id", S), ("first_seen", TS), ("segment", S), ("region", S), ("product_line", S),
                  ("branch", S), ("price_sensitivity", F64)],
    "responses": [("response_id", S), ("customer_id", S), ("touchpoint", S), ("submitted_at", TS), ("channel", S),
                  ("language", S), ("nps", I64), ("csat", I64), ("ces", I64), ("comment", S),
                  *[("rating_" + t.replace("-", "_"), I64) for t in RATED],
                  ("loy_preferred_brand", I64), ("loy_buy_on_offer", I64), ("loy_cheaper_to_save", I64),
                  ("price_switch", S)],
    "events": [("event_id", S), ("customer_id", S), ("case_id", S), ("timestamp", TS), ("activity", S),
               ("touchpoint", S), ("channel", S), ("reason", S), ("duration_s", F64), ("agent", S), ("outcome", S)],
    "feedback": [("feedback_id", S), ("source", S), ("text", S), ("rating", I64), ("customer_id", S),
                 ("touchpoint", S), ("created_at", TS), ("url", S), ("language", S)],
}


def nps(scores: pd.Series) -> float:
    s = scores.dropna()
    return 100.0 * ((s >= 9).mean() - (s <= 6).mean())


def template_keys(doc: dict) -> list[str]:
    return [tp["key"] for j in doc["journeys"] for st in j["stages"] for tp in st.get("touchpoints", [])]


def ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@pytest.fixture(scope="module")
def data():
    return generate("small", seed=42)


@pytest.fixture(scope="module")
def frames(data) -> dict[str, pd.DataFrame]:
    return {name: table.to_pandas() for name, table in data.tables().items()}


@pytest.fixture(scope="module")
def rel(frames) -> pd.DataFrame:
    return frames["responses"][frames["responses"].touchpoint == REL]


# -- templates -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_is_complete(name: str) -> None:
    text = (resources.files("momenti.domains.journey_map") / "templates" / f"{name}.yaml").read_text("utf-8")
    assert text.lstrip().startswith("#"), "templates start with a comment header for the people who edit them"
    doc = yaml.safe_load(text)
    assert doc["sector"] == name and doc["company"]
    assert doc["journeys"]
    keys = template_keys(doc)
    assert 10 <= len(keys) <= 20
    assert len(keys) == len(set(keys)), "touchpoint keys must be unique across the document"
    for journey in doc["journeys"]:
        assert SLUG.match(journey["key"])
        assert set(journey["name"]) == {"it", "en"}
        stage_keys = [s["key"] for s in journey["stages"]]
        assert len(stage_keys) == len(set(stage_keys))
        for stage in journey["stages"]:
            assert SLUG.match(stage["key"]) and set(stage["name"]) == {"it", "en"}
            for tp in stage["touchpoints"]:
                assert SLUG.match(tp["key"]), tp["key"]
                assert tp["channel"] in CHANNELS, tp
                assert isinstance(tp["owner_team"], str) and tp["owner_team"]
                for field in ("name", "brand_promise", "customer_expectation"):
                    assert set(tp[field]) == {"it", "en"} and all(tp[field].values()), (tp["key"], field)
                assert isinstance(tp["moment_of_truth"], bool)
                assert tp["target_metric"] in ("nps", "csat", "ces")
                lo, hi = {"nps": (-100, 100), "csat": (0, 100), "ces": (1, 7)}[tp["target_metric"]]
                assert lo <= tp["target_score"] <= hi, tp["key"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_validates_with_the_journey_schema(name: str) -> None:
    apply = pytest.importorskip("momenti.domains.journey_map.apply")
    doc = apply.parse_document(apply.template_text(name), name)
    assert doc.journeys


def test_bank_template_has_the_keys_the_demo_and_docs_use(data) -> None:
    keys = set(template_keys(data.journey))
    required = {"app-login", "card-block", "complaint-handling", "contact-centre-call", "branch-visit",
                "account-opening", "onboarding-welcome", REL}
    assert required <= keys
    use = next(s for s in data.journey["journeys"][0]["stages"] if s["key"] == "use")
    assert any(tp["key"] == REL and tp["channel"] == "email" for tp in use["touchpoints"])
    stages = [s["key"] for s in data.journey["journeys"][0]["stages"]]
    assert stages[0] == "discover" and stages[-1] == "leave-or-stay"


# -- shape, determinism, integrity ---------------------------------------------------------------------------


def test_schemas_are_exact(data) -> None:
    for name, expected in SCHEMAS.items():
        schema = data.tables()[name].schema
        assert [(f.name, f.type) for f in schema] == expected, name


def test_deterministic_for_a_seed(data) -> None:
    again = generate("small", seed=42)
    for name, table in data.tables().items():
        assert ipc_bytes(again.tables()[name]) == ipc_bytes(table), name
    other = generate("small", seed=43)
    assert not other.responses.equals(data.responses)
    assert not other.events.equals(data.events)


def test_write_parquet_and_csv(data, tmp_path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    paths = data.write(tmp_path / "pq")
    assert yaml.safe_load(paths["journey"].read_text("utf-8"))["company"] == "Banca Esempio"
    assert pq.read_table(paths["events"]).equals(data.events)
    paths = data.write(tmp_path / "csv", fmt="csv")
    assert pacsv.read_csv(paths["feedback"]).num_rows == data.feedback.num_rows


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown demo size"):
        generate("huge")


def test_small_sizes(data) -> None:
    assert data.customers.num_rows == SIZES["small"].customers
    assert 7_000 <= data.responses.num_rows <= 14_000
    assert 35_000 <= data.events.num_rows <= 90_000
    assert 600 <= data.feedback.num_rows <= 1_500


def test_ids_unique(frames) -> None:
    for name, col in (("customers", "customer_id"), ("responses", "response_id"), ("events", "event_id"),
                      ("feedback", "feedback_id")):
        assert frames[name][col].is_unique, name
    assert frames["customers"].customer_id.str.match(r"^C\d{6}$").all()
    assert frames["events"].agent.dropna().str.match(r"^AG\d{3}$").all()


def test_referential_integrity(data, frames) -> None:
    customers = set(frames["customers"].customer_id)
    keys = set(template_keys(data.journey))
    assert set(frames["responses"].customer_id) <= customers
    assert set(frames["events"].customer_id) <= customers
    assert set(frames["feedback"].customer_id.dropna()) <= customers
    assert set(frames["responses"].touchpoint) <= keys
    assert set(frames["events"].touchpoint.dropna()) <= keys
    assert set(frames["feedback"].touchpoint.dropna()) <= keys
    # A case belongs to one customer.
    assert (frames["events"].groupby("case_id").customer_id.nunique() == 1).all()


def test_timestamps_inside_the_window(frames) -> None:
    for name, col in (("responses", "submitted_at"), ("events", "timestamp"), ("feedback", "created_at")):
        t = frames[name][col]
        assert t.notna().all() and t.min() >= START and t.max() < END, name
    r = frames["responses"].merge(frames["customers"][["customer_id", "first_seen"]], on="customer_id")
    assert (r.submitted_at >= r.first_seen).all(), "nobody answers before becoming a customer"
    assert frames["customers"].first_seen.max() < END


def test_events_are_ordered_processes(frames) -> None:
    e = frames["events"]
    assert e.timestamp.is_monotonic_increasing
    per_case = e.groupby("case_id").timestamp
    assert (per_case.apply(lambda s: s.is_monotonic_increasing and s.is_unique)).all()
    # Complaints follow the process, with deviations for the badly handled ones.
    comp = e[e.activity.isin(["apertura reclamo", "chiusura reclamo"])].groupby("case_id").activity.agg(list)
    assert (comp.str[0] == "apertura reclamo").all()
    variants = e[e.case_id.isin(comp.index)].groupby("case_id").activity.agg(tuple).value_counts()
    assert len(variants) >= 5
    assert variants.index[0][:4] == ("apertura reclamo", "presa in carico reclamo", "risposta al cliente",
                                     "chiusura reclamo")
    assert {"sollecito cliente", "riapertura reclamo"} <= set(e.activity)
    contacts = e[e.activity.isin(["conversazione operatore", "attesa in coda", "colloquio con consulente"])]
    assert contacts.duration_s.notna().all() and (contacts.duration_s > 0).all()
    assert e[e.activity == "conversazione operatore"].agent.notna().all()
    assert e[e.channel == "app"].agent.isna().all()
    assert {"resolved", "unresolved", "transferred", "abandoned"} <= set(e.outcome.dropna())


def test_answer_scales_and_nulls(rel, frames) -> None:
    r = frames["responses"]
    assert r.nps.dropna().between(0, 10).all() and r.csat.dropna().between(1, 5).all()
    assert r.ces.dropna().between(1, 7).all()
    rating_cols = [c for c in r.columns if c.startswith("rating_")]
    assert r.loc[r.touchpoint != REL, rating_cols + ["price_switch", "loy_preferred_brand"]].isna().all().all()
    ratings = rel[rating_cols].to_numpy(dtype=float)
    assert np.nanmin(ratings) >= 1 and np.nanmax(ratings) <= 10
    assert rel.rating_app_login.notna().mean() > 0.5 and rel.rating_complaint_handling.notna().mean() < 0.2
    assert set(rel.price_switch.dropna()) == {"5", "10", "15", "25", "50", "never"}
    for col in ("loy_preferred_brand", "loy_buy_on_offer", "loy_cheaper_to_save"):
        assert rel[col].dropna().between(1, 5).all()
    assert 0.80 <= (r.language == "it").mean() <= 0.90
    assert set(r.language) == {"it", "en"}


# A tiny independent lexicon: enough to tell a complaint from praise, and nothing shared with the generator.
NEGATIVE = (r"\bnon\b|\bnn\b|\bmai\b|pessim|vergogn|never|awful|n't|nobody|nessun|ancora|assurd|scadent|evitar|"
            r"\bmale\b|\bzero\b|lent|errore|error|aspettato|attesa|\bwait|on hold|furto|robbery|poor|useless|"
            r"disgrace|fuori servizio|sufficienza|rude|still|ridicol|scherziamo|😡|🤬|👎|😤|🙄|🤦")
POSITIVE = (r"grazie|gentil|ottim|comod|veloc|\btop\b|thanks|great|kind|perfett|brav|chiar|clear|quick|easy|"
            r"semplic|subito|record|impeccabil|consiglia|recommend|soddisf|👍|😊|🙏|👏|💪|😍")


def test_comments_follow_the_score(frames) -> None:
    r = frames["responses"].dropna(subset=["nps", "comment"])
    neg = r.comment.str.contains(NEGATIVE, case=False)
    pos = r.comment.str.contains(POSITIVE, case=False)
    detractors, promoters = r.nps <= 6, r.nps >= 9
    assert neg[detractors].mean() > neg[promoters].mean() + 0.3
    assert pos[promoters].mean() > pos[detractors].mean() + 0.3
    assert r.comment.nunique() / len(r) > 0.85
    everyone = frames["responses"]
    assert 0.2 <= everyone.comment.notna().mean() <= 0.5
    assert everyone.comment.notna()[everyone.nps <= 6].mean() > everyone.comment.notna()[everyone.nps >= 9].mean()


def test_feedback_texts_look_real(frames) -> None:
    f = frames["feedback"]
    assert set(f.source) == {"review", "social", "complaint", "email"}
    assert f.text.nunique() / len(f) > 0.97
    lengths = f.text.str.len()
    assert lengths.min() < 80 and lengths.max() > 300
    joined = " ".join(f.text)
    assert re.search(r"\b(nn|cmq|xké|pls|tbh|thx)\b", joined)
    assert re.search(r"[😡🤬👎👍😊🙏]", joined)
    assert any(t.isupper() for t in f.text if len(t) > 40), "some rants are all caps"
    for topic in ("attesa|wait|hold", "operator|agent|gentil|rude", r"\bapp\b", "commission|fees|spese",
                  "carta|card", "rimbors|refund", "filiale|branch", "bonifico|transfer", "mutuo|mortgage"):
        assert f.text.str.contains(topic, case=False).sum() >= 10, topic
    reviews = f[f.source == "review"]
    assert reviews.rating.notna().all() and reviews.rating.between(1, 5).all()
    assert f[f.source != "review"].rating.isna().all()
    assert f[f.source.isin(["complaint", "email"])].customer_id.notna().all()
    assert f[f.source.isin(["review", "social"])].customer_id.isna().mean() > 0.7
    assert f[f.source.isin(["review", "social"])].url.str.startswith("https://").all()
    assert 0.80 <= (f.language == "it").mean() <= 0.92


# -- planted truths ------------------------------------------------------------------------------------------


def test_truth_complaint_handling_asymmetric_penalty(rel) -> None:
    c = rel.dropna(subset=["rating_complaint_handling", "nps"])
    band = pd.cut(c.rating_complaint_handling, [0, TRUTHS.complaint_low_max, TRUTHS.complaint_high_min - 1, 10])
    mean = c.groupby(band, observed=True).nps.mean().to_numpy()
    penalty, reward = mean[1] - mean[0], mean[2] - mean[1]
    assert penalty > 2.0, penalty
    assert penalty - reward > 1.5 and penalty > 1.8 * reward, (penalty, reward)


def test_truth_app_release_drops_login_csat(frames) -> None:
    r = frames["responses"]
    app = r[(r.touchpoint == "app-login")].dropna(subset=["csat"])
    inside = app.submitted_at.between(*RELEASE, inclusive="left")
    assert inside.sum() >= 60
    drop = app[~inside].csat.mean() - app[inside].csat.mean()
    assert 0.5 <= drop <= 1.2, drop
    monthly = app.groupby(app.submitted_at.dt.strftime("%Y-%m")).csat.mean()
    assert set(monthly.nsmallest(2).index) == {"2026-03", "2026-04"}


def test_truth_app_release_spikes_app_feedback(frames) -> None:
    f = frames["feedback"]
    about_app = f.text.str.contains(r"\bapp\b|login|accesso|accedere|aggiornamento|update|OTP|impronta|fingerprint",
                                    case=False)
    inside = f.created_at.between(*RELEASE, inclusive="left")
    per_month_in = about_app[inside].sum() / 2
    per_month_out = about_app[~inside].sum() / 22
    assert per_month_in > 1.3 * per_month_out, (per_month_in, per_month_out)
    e = frames["events"]
    sessions = e[e.channel == "app"].groupby("case_id").agg(t=("timestamp", "min"), first=("activity", "first"))
    failed = sessions["first"] == "login fallito"
    in_win = sessions.t.between(*RELEASE, inclusive="left")
    assert failed[in_win].mean() > 2 * failed[~in_win].mean()


def _contacts(events: pd.DataFrame) -> pd.DataFrame:
    c = (events[events.reason.notna()].groupby("case_id")
         .agg(customer_id=("customer_id", "first"), reason=("reason", "first"), t=("timestamp", "min"))
         .sort_values(["customer_id", "reason", "t"]))
    following = c.groupby(["customer_id", "reason"]).t.shift(-1)
    c["repeat"] = (following - c.t) <= pd.Timedelta(days=TRUTHS.repeat_window_days)
    return c[c.t < END - pd.Timedelta(days=TRUTHS.repeat_window_days)]  # right-censoring


def test_truth_blocked_card_causes_repeat_contacts(frames) -> None:
    c = _contacts(frames["events"])
    card = c[c.reason == "carta bloccata"]
    others = c[c.reason != "carta bloccata"]
    assert len(card) >= 300
    assert 0.25 <= card.repeat.mean() <= 0.45, card.repeat.mean()
    assert others.repeat.mean() <= 0.12, others.repeat.mean()
    assert card.repeat.mean() > 3 * others.repeat.mean()


def test_truth_first_time_customers_are_less_loyal(rel, frames) -> None:
    r = rel.merge(frames["customers"][["customer_id", "first_seen"]], on="customer_id")
    first_time = (r.submitted_at - r.first_seen) < pd.Timedelta(days=TRUTHS.first_time_days)
    assert first_time.sum() >= 300
    gap = nps(r[first_time].nps) - nps(r[~first_time].nps)
    assert -40 <= gap <= -10, gap


def test_truth_young_switch_for_ten_percent_loyal_do_not(rel, frames) -> None:
    r = rel.merge(frames["customers"][["customer_id", "segment"]], on="customer_id").dropna(subset=["price_switch"])
    cheap = r.price_switch.isin(["5", "10"])
    young = r.segment == "young"
    assert cheap[young].mean() >= 0.7, cheap[young].mean()
    assert cheap[~young].mean() <= 0.4
    loyal = (r.loy_preferred_brand >= 4) & (r.loy_buy_on_offer <= 2) & (r.loy_cheaper_to_save <= 2)
    assert 0.1 <= loyal.mean() <= 0.4
    assert r[loyal].price_switch.isin(["50", "never"]).mean() >= 0.75


def test_truth_weakest_link(rel) -> None:
    cols = [c for c in rel.columns if c.startswith("rating_") and c != "rating_complaint_handling"]
    w = rel[rel.rating_complaint_handling.isna()].dropna(subset=["nps"])
    w = w[w[cols].notna().sum(axis=1) >= 2]
    mean, low = w[cols].mean(axis=1), w[cols].min(axis=1) <= TRUTHS.weakest_link_max
    slope, intercept = np.polyfit(mean, w.nps, 1)
    residual = w.nps - (slope * mean + intercept)
    assert low.sum() >= 100
    assert residual[low].mean() < -0.7, residual[low].mean()
    assert residual[low].mean() < residual[~low].mean() - 0.9


def test_truth_touchpoints_differ_with_noise_and_tiny_groups(frames) -> None:
    r = frames["responses"].dropna(subset=["nps"])
    by_tp = r.groupby("touchpoint").nps.apply(nps)
    assert by_tp["branch-visit"] > by_tp["contact-centre-call"] + 25
    assert by_tp["complaint-handling"] < by_tp["contact-centre-call"] - 15
    assert by_tp["branch-visit"] == by_tp[r.groupby("touchpoint").size() >= 200].max()
    monthly = r[r.touchpoint == "branch-visit"].groupby(r.submitted_at.dt.strftime("%Y-%m")).nps.apply(nps)
    assert len(monthly) == 24 and monthly.std() > 3
    counts = frames["responses"].groupby(["touchpoint", frames["responses"].submitted_at.dt.strftime("%Y-%m")]).size()
    assert (counts < 30).sum() >= 20
    assert (frames["customers"].segment.value_counts() < 60).any()


@pytest.mark.slow
def test_default_size_meets_the_volumes() -> None:
    d = generate("default", seed=1)
    assert d.customers.num_rows >= 20_000
    assert d.responses.num_rows >= 150_000
    assert d.events.num_rows >= 1_000_000
    assert d.feedback.num_rows >= 10_000
    submitted = d.responses.column("submitted_at").to_pandas()
    assert submitted.min() >= START and submitted.max() < END
