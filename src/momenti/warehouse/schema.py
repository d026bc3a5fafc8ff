"""The warehouse tables: an analytical replica of the store, shaped for questions.

`answers` is the fact table most metrics read: one row per answer, carrying its response's context
(customer, touchpoint, time, channel) so that a metric is a filter and a group-by without joins.
`score_daily` is a rollup (counts per day x touchpoint x channel x language x score question x score) kept up to date
at each sync; every score metric is a function of those counts, so a dashboard never scans raw answers.
It is append-only: each sync adds its own counts and readers sum them.
"""

from __future__ import annotations

import ibis

SCHEMA_VERSION = 1

TABLES: dict[str, ibis.Schema] = {
    "responses": ibis.schema({
        "id": "int64", "external_id": "string", "customer_id": "string", "touchpoint": "string",
        "submitted_at": "timestamp", "channel": "string", "language": "string", "partial": "boolean",
    }),
    "answers": ibis.schema({
        "response_id": "int64", "question": "string", "value_num": "float64", "value_text": "string",
        "customer_id": "string", "touchpoint": "string", "submitted_at": "timestamp", "channel": "string",
        "language": "string",
    }),
    "events": ibis.schema({
        "id": "int64", "external_id": "string", "customer_id": "string", "case_id": "string",
        "timestamp": "timestamp", "activity": "string", "touchpoint": "string", "channel": "string",
        "reason": "string", "duration_s": "float64", "agent": "string", "outcome": "string",
        "attributes": "string",
    }),
    "feedback": ibis.schema({
        "id": "int64", "external_id": "string", "source": "string", "text": "string", "rating": "float64",
        "customer_id": "string", "touchpoint": "string", "created_at": "timestamp", "url": "string",
        "language": "string",
    }),
    "customers": ibis.schema({"customer_id": "string", "first_seen": "timestamp", "seq": "int64"}),
    "customer_attributes": ibis.schema({"customer_id": "string", "attr": "string", "value": "string"}),
    "touchpoints": ibis.schema({
        "touchpoint": "string", "touchpoint_name_it": "string", "touchpoint_name_en": "string",
        "touchpoint_channel": "string", "stage": "string", "stage_name_it": "string", "stage_name_en": "string",
        "stage_position": "int64", "journey": "string", "journey_name_it": "string",
        "journey_name_en": "string", "touchpoint_position": "int64", "moment_of_truth": "boolean",
        "target_metric": "string", "target_score": "float64", "archived": "boolean",
    }),
    "questions": ibis.schema({"question": "string", "kind": "string", "scale_min": "float64",
                              "scale_max": "float64"}),
    # `language` last: added in place to a rollup of an older layout, which is then refolded from `answers`
    "score_daily": ibis.schema({"day": "date", "touchpoint": "string", "channel": "string", "question": "string",
                                "score": "float64", "n": "int64", "language": "string"}),
    "_meta": ibis.schema({"key": "string", "value": "string"}),
}

# --- segment rollups (src/momenti/insights/scores/segment_rollup.py) ----------------------------------------
# Counts per customer attribute value, made for an attribute the first time a score is cut by it and kept up to
# date at each later question (the customers' attributes are current values, not history: a change rebuilds it).
TABLES["segment_daily"] = ibis.schema({
    "attr": "string", "value": "string", "day": "date", "touchpoint": "string", "channel": "string",
    "language": "string", "question": "string", "score": "float64", "n": "int64",
})

# Questions whose answers feed the score rollup.
SCORE_KINDS = ("nps", "csat", "ces")
ROLLUP_KEYS = ["day", "touchpoint", "channel", "language", "question", "score"]


def rollup_from_answers(answers: ibis.Table, scores: ibis.Column | list[str]) -> ibis.Table:
    """`score_daily`'s rows counted from `answers` (the score answers: `scores` holds their question keys), in the
    table's column order: what the sync refolds an old rollup with, and what an external warehouse reads."""
    a = answers
    among = a.question.isin(scores) if not isinstance(scores, list) or scores else ibis.literal(False)
    a = a.filter(a.value_num.notnull() & among)
    a = a.select(day=a.submitted_at.cast("date"), touchpoint=a.touchpoint, channel=a.channel, language=a.language,
                 question=a.question, score=a.value_num)
    return a.group_by(ROLLUP_KEYS).aggregate(n=a.count().cast("int64")).select(*TABLES["score_daily"].names)

# --- journey facts (src/momenti/insights/paths/facts.py) -----------------------------------------------
# The event log pre-shaped for process mining under the default case notion (the log's case_id), maintained at
# sync: activities dictionary-encoded as small integers, each event's position in its case, next activity and
# time to it, and one row per case with its variant key. A directly-follows graph is then a plain group-by.
TABLES.update({
    "journey_activities": ibis.schema({"code": "int64", "activity": "string"}),
    "journey_steps": ibis.schema({
        "event_id": "int64", "case_id": "string", "customer_id": "string", "ts": "timestamp", "act": "int64",
        "pos": "int64", "next_act": "int64", "delta_s": "float64", "channel": "string", "touchpoint": "string",
    }),
    "journey_cases": ibis.schema({
        "case_id": "string", "customer_id": "string", "start_ts": "timestamp", "end_ts": "timestamp",
        "n_events": "int64", "first_act": "int64", "last_act": "int64", "variant": "string",
        "duration_s": "float64",
    }),
    # Rollups of the whole log (no filter), rebuilt at each refresh: the unfiltered process map reads these.
    "journey_dfg": ibis.schema({"source": "int64", "target": "int64", "count": "int64", "mean_s": "float64",
                                "median_s": "float64", "p90_s": "float64"}),
    # `codes`: the variant's activity codes in order, so reading tens of thousands of variants back as lists of
    # names is an array lookup (momenti.insights.paths.mining) instead of splitting and re-creating every name.
    "journey_variants": ibis.schema({"rank": "int64", "variant": "string", "count": "int64",
                                     "median_duration_s": "float64", "codes": "array<int64>"}),
    # Per activity: events, journeys starting with it, journeys ending with it (the whole log).
    "journey_activity_counts": ibis.schema({"code": "int64", "events": "int64", "starts": "int64",
                                            "ends": "int64"}),
})

# --- contact facts (src/momenti/insights/contact/facts.py) -----------------------------------------------
# One row per contact with the start of the customer's next same-reason contact, maintained at sync.
TABLES.update({
    "contact_facts": ibis.schema({
        "customer_id": "string", "contact": "string", "reason": "string", "ts": "timestamp", "first_id": "int64",
        "channel": "string", "touchpoint": "string", "agent": "string", "handling_s": "float64", "timed": "int64",
        "next_ts": "timestamp",
    }),
})

# --- customer outcomes (retention, src/momenti/insights/retention/survival.py) -------------------------------------
# One row per customer, replaced when the store's `seq` says it changed (synced like customers).
TABLES.update({
    "outcomes": ibis.schema({"customer_id": "string", "status": "string", "start_date": "timestamp",
                             "end_date": "timestamp", "attributes": "string", "seq": "int64"}),
})

# --- text analytics: topics and sentiment per comment (src/momenti/insights/text/facts.py) ----------------------------
# `text_results`: one row per analysed item (free-text answer or feedback) with its context (customer,
# touchpoint, time, channel; for feedback the channel is its source) and the masked text only. `text_topics`:
# one row per item x topic with the same context and the topic's own (aspect) sentiment, so a topic's volume,
# share and sentiment cut by touchpoint and period are plain group-bys. Both replaced per item by `seq`.
TABLES.update({
    "text_results": ibis.schema({
        "item_key": "string", "kind": "string", "item_id": "int64", "question": "string", "external_id": "string",
        "customer_id": "string", "touchpoint": "string", "ts": "timestamp", "channel": "string",
        "source": "string", "language": "string", "masked_text": "string", "pii_kinds": "string",
        "sentiment": "string", "sentiment_score": "float64", "sentiment_confidence": "float64",
        "sentiment_source": "string", "topics": "string", "n_topics": "int64", "keywords": "string",
        "analyzer_version": "string", "seq": "int64",
    }),
    "text_topics": ibis.schema({
        "item_key": "string", "kind": "string", "topic": "string", "sentiment": "string", "score": "float64",
        "item_sentiment": "string", "customer_id": "string", "touchpoint": "string", "ts": "timestamp",
        "channel": "string", "source": "string", "language": "string", "seq": "int64",
    }),
})
