"""Where a customer's data lives in the store, declared once: the export reads these rows and the erasure
deletes (or anonymises) them. Each entry is a table and the SQL condition that selects the customer's rows,
with `:cid` the customer's id; dependent tables select through their parent's ids.
"""

from __future__ import annotations

# table -> WHERE clause selecting the customer's rows (order: children before parents, for deletes)
CUSTOMER_ROWS: dict[str, str] = {
    "answers": "response_id IN (SELECT id FROM responses WHERE customer_key = :cid)",
    "text_results": "(kind = 'answer' AND item_id IN (SELECT id FROM responses WHERE customer_key = :cid)) OR "
                    "(kind = 'feedback' AND item_id IN (SELECT id FROM feedback WHERE customer_key = :cid))",
    "responses": "customer_key = :cid",
    "events": "customer_key = :cid",
    "feedback": "customer_key = :cid",
    "deliveries": "invitation_id IN (SELECT id FROM invitations WHERE customer_key = :cid)",
    "invitations": "customer_key = :cid",
    "contact_skips": "customer_key = :cid",
    "link_uses": "customer_key = :cid",
    "survey_sessions": "customer_key = :cid",
    "unsubscribes": "customer_key = :cid",
    "staff_notifications": "case_id IN (SELECT id FROM cases WHERE customer_key = :cid)",
    "case_entries": "case_id IN (SELECT id FROM cases WHERE customer_key = :cid)",
    "cases": "customer_key = :cid",
    "offers": "customer_key = :cid",
    "customer_notes": "customer_key = :cid",
    "outcomes": "customer_key = :cid",
    "customers": "customer_key = :cid",
}

# What an anonymised customer keeps (under a random id) for the aggregates: scores, interactions, outcomes,
# offers and cases; everything else of theirs is deleted. Kept rows lose their text (below).
ANONYMISE_KEEP = ("responses", "answers", "events", "outcomes", "offers", "cases", "case_entries")
# Columns holding the customer's id, rewritten to the random one.
ID_COLUMNS = {"responses": "customer_key", "events": "customer_key", "outcomes": "customer_key",
              "offers": "customer_key", "cases": "customer_key"}
# Text and contact data dropped from the rows an anonymised customer keeps: SET clauses.
ANONYMISE_DROP = {
    "answers": None,  # free-text answers deleted (below); numeric answers kept
    "events": "attributes = NULL, agent = NULL",
    "offers": "agent = NULL",
    "cases": "resolution = NULL, open_key = NULL, tags = '[]'",
    "case_entries": "body = NULL, detail = NULL",
    "outcomes": "attributes = NULL",
}
