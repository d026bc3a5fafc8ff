"""Which answers the text pipeline reads: the free-text questions, told apart from categorical text columns."""

from __future__ import annotations

from momenti.warehouse.connection import WarehouseConnection

CATEGORICAL_MIN_N = 30
CATEGORICAL_MAX_DISTINCT = 50


def free_text_questions(wh: WarehouseConnection) -> list[str]:
    """The text questions whose answers are free text. The importer gives kind "text" to every non-numeric
    column, so a categorical one ("5", "10", "never") is text too; analysing it would fill the topic
    denominators with non-comments. A question is categorical when it has at least CATEGORICAL_MIN_N answers
    and few distinct values (at most CATEGORICAL_MAX_DISTINCT, and under 5 % of its answers)."""
    q = wh.table("questions")
    keys = q.filter(q.kind == "text").question.to_pyarrow().to_pylist()
    if not keys:
        return []
    a = wh.table("answers")
    a = a.filter(a.question.isin(keys) & a.value_text.notnull())
    stats = a.group_by("question").aggregate(n=a.count(), distinct=a.value_text.nunique()).to_pandas()
    categorical = stats[(stats["n"] >= CATEGORICAL_MIN_N) & (stats["distinct"] <= CATEGORICAL_MAX_DISTINCT)
                        & (stats["distinct"] < 0.05 * stats["n"])]["question"]
    return [k for k in keys if k not in set(categorical)]
