"""Arguments as people write them: one parser for comma lists and dates, the same clear error everywhere."""

from __future__ import annotations

import datetime as dt

import pytest

import momenti
from momenti.core.args import as_date, as_list
from momenti.core.errors import InputError


def test_as_list_and_as_date() -> None:
    assert as_list("a, b,,c ") == ["a", "b", "c"]
    assert as_list(["a", " b", ""]) == ["a", "b"]
    assert as_list(None) == []
    assert as_date("2026-03-01") == dt.date(2026, 3, 1)
    assert as_date(dt.date(2026, 3, 1)) == dt.date(2026, 3, 1) and as_date(None) is None
    with pytest.raises(InputError, match="'2026-13-01' is not a date: write YYYY-MM-DD"):
        as_date("2026-13-01")


@pytest.mark.parametrize("question", [
    lambda ws: ws.nps(start="2026-13-01"),
    lambda ws: ws.drivers(start="2026-13-01"),
    lambda ws: ws.loyalty_battery(start="2026-13-01"),
    lambda ws: ws.fcr(end="2026-13-01"),
    lambda ws: ws.topics(start="2026-13-01"),
    lambda ws: ws.loyalty_bank(start="2026-13-01"),
])
def test_bad_dates_are_input_errors(workspace: momenti.Workspace, question) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match="is not a date"):
        question(workspace)
