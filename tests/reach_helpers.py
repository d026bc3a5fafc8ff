"""What the survey-reach tests share: a real SMTP server (aiosmtpd) that keeps what it receives, a workspace
wired to it with the relationship survey live, and readers of the messages. The fixtures are imported by the
test modules under their *_fixture names and used as `smtp` and `ws`."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

import momenti
from browser_helpers import free_port
from conftest import BANK, make_workspace
from momenti.domains.surveys.definition import template
from momenti.domains.surveys.service import apply_survey

SURVEY = "nps-relationship"
T0 = dt.datetime(2026, 3, 10, 9, 0)  # 10:00 in Rome: outside the default quiet hours (21-8)


# -- a real SMTP server ------------------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps every message; refuses recipients at @refuse.example with 550."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address.endswith("@refuse.example"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted"



@pytest.fixture(name="smtp")
def smtp_fixture() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def open_ws(tmp_path: Path, port: int, backend: str = "sqlite", request: pytest.FixtureRequest | None = None,
            **settings: object) -> momenti.Workspace:
    settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "Banca Esempio <sondaggi@banca.example>",
                "public_url": "https://cx.banca.example", **settings}
    ws = make_workspace(tmp_path, backend, request, **settings)
    ws.apply_journey(BANK)
    apply_survey(ws, template(SURVEY))
    return ws


@pytest.fixture(name="ws")
def ws_fixture(tmp_path: Path, smtp: tuple[Inbox, int]) -> Iterator[momenti.Workspace]:
    w = open_ws(tmp_path, smtp[1])
    yield w
    w.close()


def parts(msg: email.message.EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def token_of(text: str) -> str:
    url = re.search(r"https://cx\.banca\.example/s/\S+", text)[0]
    return parse_qs(urlparse(url).query)["t"][0]


def unsub_token(text: str) -> str:
    return re.search(r"https://cx\.banca\.example/u/(\S+)", text)[1]


def rows(ws: momenti.Workspace, model: type) -> list:
    with ws.session() as s:
        return list(s.scalars(select(model)))
