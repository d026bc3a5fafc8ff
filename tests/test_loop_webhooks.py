"""Signed webhooks: a real receiver on loopback that fails the first attempts, the retry schedule run by the job
runner, signatures verified with the `standardwebhooks` package, the delivery log, replay, rotation, 410 Gone,
and the SSRF guard."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

import momenti
from api_helpers import make_api
from momenti.core.errors import InputError
from momenti.domains.loop import webhooks
from momenti.domains.loop.rules import apply_rules, load_rules, template_text
from momenti.domains.loop.ssrf import allow_list, check_url


class Receiver:
    """Answers `codes` in turn (then 200), recording every request."""

    def __init__(self, codes: list[int], headers: dict[str, str] | None = None) -> None:
        self.codes, self.extra, self.seen = list(codes), headers or {}, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                code = outer.codes.pop(0) if outer.codes else 200
                outer.seen.append({"t": time.monotonic(), "headers": dict(self.headers), "body": body, "code": code})
                self.send_response(code)
                for k, v in outer.extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"not now")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500, 500, 503])
    yield r
    r.close()


def _wait(cond: Any, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data",
                                 "http://10.1.2.3/hook", "http://192.168.0.7/hook", "http://[::1]/hook",
                                 "http://localhost/hook", "http://metadata.google.internal/x", "ftp://example.com/x"])
def test_the_ssrf_guard_refuses_inner_addresses(url: str) -> None:
    with pytest.raises(InputError):
        check_url(url, allow_list(""))


def test_the_allow_list_exempts_a_named_host() -> None:
    assert check_url("http://127.0.0.1:8080/h", allow_list("127.0.0.1")) == "http://127.0.0.1:8080/h"
    assert check_url("https://93.184.215.14/h", allow_list("")) == "https://93.184.215.14/h"  # public address


def test_a_case_opened_reaches_the_receiver_after_three_failures(ws_any: momenti.Workspace,
                                                                  receiver: Receiver) -> None:
    gen = make_api(ws_any, webhook_retry_schedule="0,0.3,0.6,0.9,5", webhook_allow_hosts="127.0.0.1")
    api = next(gen)
    try:
        with api.ws.session() as s, s.begin():
            apply_rules(s, load_rules(template_text()), "test")
            _, secret = webhooks.add_endpoint(s, api.ws.settings, receiver.url, "case.opened")
        assert secret.startswith("whsec_")
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        r = api.post("/api/v1/responses", {"response_id": "wh1", "customer_id": "C-WH", "touchpoint": "branch-visit",
                                           "submitted_at": now, "answers": {"nps": 2}})
        assert r.status_code in (200, 201)
        _wait(lambda: any(a["code"] == 200 for a in receiver.seen))  # the server's own dispatcher and jobs
        time.sleep(1.5)  # no attempt may follow the accepted one
        assert [a["code"] for a in receiver.seen] == [500, 500, 503, 200]
        ids = {a["headers"]["webhook-id"] for a in receiver.seen}
        assert len(ids) == 1  # one delivery, one idempotency key for the receiver
        gaps = [b["t"] - a["t"] for a, b in zip(receiver.seen, receiver.seen[1:], strict=False)]
        assert gaps[0] >= 0.25 and gaps[1] >= 0.55 and gaps[2] >= 0.85  # the schedule's back-off
        for a in receiver.seen:
            payload = Webhook(secret).verify(a["body"], {k.lower(): v for k, v in a["headers"].items()})
            assert payload["type"] == "case.opened"
        data = json.loads(receiver.seen[-1]["body"])["data"]
        case_id = api.client.get("/api/v1/cases?customer_id=C-WH").json()["rows"][0]["id"]
        assert data["case_id"] == case_id and data["url"].endswith(f"/cases/{case_id}")
        assert "C-WH" not in receiver.seen[-1]["body"]  # thin payload: who reads the customer is audited
        with api.ws.session() as s:
            log = webhooks.deliveries(s)[0]
        assert (log["status"], log["attempts"]) == ("delivered", 4)
        assert [a["status_code"] for a in log["log"]] == [500, 500, 503, 200]
        assert [a["next_delay_s"] for a in log["log"]] == [0.3, 0.6, 0.9, None]
    finally:
        next(gen, None)


def test_replay_rotation_and_gone(workspace: momenti.Workspace) -> None:
    settings = workspace.settings.model_copy(update={"webhook_allow_hosts": "127.0.0.1",
                                                     "webhook_retry_schedule": "0,0"})
    ok = Receiver([])
    gone = Receiver([410])
    try:
        with workspace.session() as s, s.begin():
            ep, old = webhooks.add_endpoint(s, settings, ok.url, "case.updated")
            ep2, _ = webhooks.add_endpoint(s, settings, gone.url, "*")
            ids = webhooks.enqueue_events(s, settings, [(1, "case.updated", {"case_id": 7})])
            assert len(ids) == 2
            assert webhooks.enqueue_events(s, settings, [(1, "case.updated", {"case_id": 7})]) == []  # once
        by_ep = {}
        for d in ids:
            result = webhooks.attempt(workspace.engine, settings, d)
            by_ep[result.status_code] = result
        assert by_ep[200].delivered and by_ep[410].next_delay_s is None
        with workspace.session() as s:
            states = {e["id"]: e for e in webhooks.endpoints(s)}
        assert states[ep2.id]["disabled_reason"] == "the receiver answered 410 Gone"
        assert states[ep.id]["disabled_at"] is None
        # rotation: both secrets sign for a while, so a receiver still holding the old one verifies
        with workspace.session() as s, s.begin():
            new = webhooks.rotate_secret(s, settings, ep.id)
            again = webhooks.replay(s, delivery_id=by_ep[200].delivery_id)
        assert again == [by_ep[200].delivery_id]
        assert webhooks.attempt(workspace.engine, settings, again[0]).delivered
        last = ok.seen[-1]
        headers = {k.lower(): v for k, v in last["headers"].items()}
        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (old, new):
            Webhook(secret).verify(last["body"], headers)
        assert ok.seen[0]["headers"]["webhook-id"] == last["headers"]["webhook-id"]  # a replay keeps the id
    finally:
        ok.close()
        gone.close()


def test_the_cli_adds_an_endpoint_and_refuses_a_metadata_address(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "MOMENTI_DATA_DIR": str(tmp_path / "data")}
    env.pop("MOMENTI_WEBHOOK_ALLOW_HOSTS", None)
    cmd = [sys.executable, "-m", "momenti.cli.main", "webhooks", "add"]
    refused = subprocess.run([*cmd, "http://169.254.169.254/x", "--events", "case.opened"], capture_output=True,
                             text=True, env=env, timeout=120)
    assert refused.returncode != 0 and "link-local" in refused.stderr
    added = subprocess.run([*cmd, "http://127.0.0.1:9/x", "--events", "case.opened,case.breached"],
                           capture_output=True, text=True, timeout=120,
                           env={**env, "MOMENTI_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().startswith("whsec_")
    listed = subprocess.run([sys.executable, "-m", "momenti.cli.main", "webhooks", "list", "--format", "json"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert "case.breached,case.opened" in listed.stdout
