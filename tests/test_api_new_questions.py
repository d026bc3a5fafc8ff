"""One request cannot stall every write: a body with thousands of new answer keys is answered 422 at once
(it never reaches the single writer, and creates no question), while ordinary writes proceed; a request within
the cap still creates its questions; a file with many new columns is classified in one linear pass."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

import momenti
from api_helpers import Api, make_api, response
from momenti.store.models import Question


@pytest.fixture
def api_sqlite(workspace: momenti.Workspace) -> Iterator[Api]:
    yield from make_api(workspace)


def _questions(api: Api, prefix: str) -> int:
    with api.ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(Question).where(Question.key.startswith(prefix))) or 0)


def test_ten_thousand_new_keys_are_refused_while_other_writes_proceed(api_sqlite: Api) -> None:
    flood = response(1, answers={f"k{i}": i for i in range(10_000)})
    results: dict[str, int] = {}

    def post_flood() -> None:
        results["flood"] = api_sqlite.client.post("/api/v1/responses", json=flood, headers=api_sqlite.auth).status_code

    t = threading.Thread(target=post_flood)
    t.start()
    ok = api_sqlite.client.post("/api/v1/responses", json=response(2), headers=api_sqlite.auth)
    t.join(60)
    assert not t.is_alive()
    assert ok.status_code == 201, ok.text
    assert results["flood"] == 422
    r = api_sqlite.client.post("/api/v1/responses", json=flood, headers=api_sqlite.auth)
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", "answers"] and item["type"] == "too_many_new_questions"
    assert "10,000 new answer keys" in item["msg"] and "MOMENTI_API_MAX_NEW_QUESTIONS" in item["msg"]
    assert _questions(api_sqlite, "k") == 0  # nothing became a permanent question


def test_new_keys_within_the_cap_are_created(api_sqlite: Api) -> None:
    body = response(3, answers={**{f"extra_{i}": i % 5 for i in range(49)}, "nps": 9})  # 50 new with nps
    r = api_sqlite.client.post("/api/v1/responses", json=body, headers=api_sqlite.auth)
    assert r.status_code == 201, r.text
    assert _questions(api_sqlite, "extra_") == 49
    # The same keys and one more: over the cap in number, but only one is new.
    again = api_sqlite.client.post("/api/v1/responses", json=response(4, answers={**body["answers"], "x": 1}),
                                   headers=api_sqlite.auth)
    assert again.status_code == 201, again.text


def test_many_new_columns_in_a_file_are_classified(workspace: momenti.Workspace, tmp_path: Path) -> None:
    n = 400
    head = ["response_id", "customer_id", "touchpoint", "submitted_at",
            *[f"num_{i}" for i in range(n)], *[f"txt_{i}" for i in range(n)]]
    rows = [[f"r{j}", f"c{j}", "branch-visit", "2026-01-05", *[str(i % 7) for i in range(n)],
             *["" if j else f"word {i}" for i in range(n)]] for j in range(3)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(",".join(r) for r in [head, *rows]) + "\n")
    s = workspace.import_file("responses", path)
    assert (s.added, s.rejected) == (3, 0), s.errors[:3]
    with workspace.session() as session:
        kinds = {q.key: q.kind for q in session.scalars(select(Question))}
    assert {kinds[f"num_{i}"] for i in range(n)} == {"rating"} or all(kinds[f"num_{i}"] != "text" for i in range(n))
    assert {kinds[f"txt_{i}"] for i in range(n)} == {"text"}


def test_a_token_creates_a_bounded_number_of_questions(workspace: momenti.Workspace) -> None:
    """Many small requests cannot grow the questions without end either (a fuzzed workspace ended with 1,784)."""
    for api in make_api(workspace, api_max_new_questions=10, api_max_new_questions_per_token=25):
        for i in range(2):  # 2 x 10 new keys (nps among the first): within the token's 25
            body = response(10 + i, answers={f"f{i}_{j}": j for j in range(10 - (i == 0))} | {"nps": 7})
            r = api.client.post("/api/v1/responses", json=body, headers=api.auth)
            assert r.status_code == 201, r.text
        r = api.client.post("/api/v1/responses", json=response(20, answers={f"g{j}": j for j in range(6)}),
                            headers=api.auth)
        assert r.status_code == 422
        assert "MOMENTI_API_MAX_NEW_QUESTIONS_PER_TOKEN" in r.json()["detail"][0]["msg"]
        assert _questions(api, "g") == 0
        # Known keys still write; a few new ones within the rest of the budget too.
        ok = api.client.post("/api/v1/responses", json=response(21, answers={"f0_1": 3, "h1": 1}), headers=api.auth)
        assert ok.status_code == 201, ok.text
        assert _questions(api, "h") == 1
