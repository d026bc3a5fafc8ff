"""`momenti secret rotate`: new links are signed with the new key, links signed before still verify until they
expire, unsubscribe links, kept original texts, webhook secrets and the audit pseudonym survive the rotation."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

import momenti
from conftest import BANK
from momenti.core import secrets as ring
from momenti.core.clock import utcnow
from momenti.core.config import get_settings
from momenti.core.errors import InputError
from momenti.domains.loop import notify
from momenti.domains.surveys import links

SURVEY = "relationship-survey"
COMMENT = "Bonifico sparito: chiamatemi al 347 1234567 o scrivete a mario.rossi@example.com. Pessimo servizio."


def _claims(days: float) -> links.LinkClaims:
    return links.LinkClaims(SURVEY, "c1", expires_at=utcnow() + dt.timedelta(days=days))


def test_a_link_signed_before_rotation_verifies_after(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "d")
    old = links.secret_key(settings)
    before = links.sign(_claims(30), old)
    done = ring.rotate(settings)
    new = links.secret_key(settings)
    assert new != old and links.secret_keys(settings) == [new, old]
    assert done["retired"] == 1 and done["verifying"] == 2
    assert links.verify(before, links.secret_keys(settings)).customer_id == "c1"
    with pytest.raises(links.LinkInvalid):  # the current key alone does not verify it: the ring does
        links.verify(before, new)
    # files: mode 600, the current key replaced, the old one retired with its time
    for name in (ring.SECRET_FILE, ring.RETIRED_FILE):
        assert stat.S_IMODE(os.stat(tmp_path / "d" / name).st_mode) == 0o600
    retired = ring.retired_keys(settings)
    assert [r.key for r in retired] == [old] and retired[0].retired_at is not None
    assert not list((tmp_path / "d").glob(".*.tmp"))


def test_a_link_signed_after_uses_the_new_key(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "d")
    old = links.secret_key(settings)
    ring.rotate(settings)
    after = links.sign(_claims(30), links.secret_key(settings))
    assert links.verify(after, links.secret_keys(settings)).customer_id == "c1"
    with pytest.raises(links.LinkInvalid):
        links.verify(after, old)
    with pytest.raises(links.LinkInvalid):
        links.verify(after, [b"another secret of enough length"])


def test_an_expired_old_link_still_fails(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "d")
    expired = links.sign(_claims(-1), links.secret_key(settings))
    ring.rotate(settings)
    with pytest.raises(links.LinkExpired):
        links.verify(expired, links.secret_keys(settings))


def test_two_rotations_and_prune(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "d")
    first = links.secret_key(settings)
    link1 = links.sign(_claims(30), first)
    ring.rotate(settings, now=utcnow() - dt.timedelta(days=10))
    second = links.secret_key(settings)
    link2 = links.sign(_claims(30), second)
    ring.rotate(settings)
    keys = links.secret_keys(settings)
    assert keys[1:] == [second, first] and len(keys) == 3
    assert links.verify(link1, keys) and links.verify(link2, keys)
    pseudonym_key = ring.stable_derived_key(settings, b"x")
    assert ring.prune(settings, dt.timedelta(days=5)) == 1  # the first key, retired 10 days ago
    keys = links.secret_keys(settings)
    assert first not in keys and links.verify(link2, keys)
    with pytest.raises(links.LinkInvalid):
        links.verify(link1, keys)
    assert ring.stable_derived_key(settings, b"x") == pseudonym_key  # the first key stays for derivations
    assert [r.pruned for r in ring.status(settings).retired] == [True, False]
    assert ring.prune(settings, dt.timedelta(days=0)) == 1 and links.secret_keys(settings) == [keys[0]]
    assert len(ring.retired_keys(settings)) == 2  # kept, marked pruned: what they encrypted stays readable


def test_unsubscribe_links_survive_rotation(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "d")
    unsub = links.sign_unsubscribe("c1", links.secret_key(settings), "a@example.com", "it")
    staff = notify.unsubscribe_token(settings, "Lead@Example.com")
    ring.rotate(settings)
    assert links.verify_unsubscribe(unsub, links.secret_keys(settings))["customer_id"] == "c1"
    with pytest.raises(links.LinkInvalid):
        links.verify_unsubscribe(unsub, links.secret_key(settings))
    new = links.sign_unsubscribe("c1", links.secret_key(settings))
    assert links.verify_unsubscribe(new, links.secret_keys(settings))["customer_id"] == "c1"
    # staff e-mails' one-click unsubscribe: the same token before and after
    assert notify.unsubscribe_token(settings, "lead@example.com") == staff
    assert notify.email_of_token(settings, staff) == "lead@example.com"


def test_kept_originals_and_pseudonym_survive_rotation(tmp_path: Path) -> None:
    ws = momenti.open(tmp_path / "data", text_keep_original=True, text_min_group=1)
    ws.apply_journey(BANK)
    ws.import_records("responses", [{"response_id": "R1", "customer_id": "C2", "touchpoint": "card-block",
                                     "submitted_at": "2026-03-03T09:00:00Z", "nps": 2, "comment": COMMENT}])
    assert set(ws.comments(original=True)["text"]) == {COMMENT}
    ref = ws.customer_ref("C2")
    ring.rotate(ws.settings)
    assert set(ws.comments(original=True)["text"]) == {COMMENT}  # encrypted before, decrypted after
    assert ws.customer_ref("C2") == ref
    # new encryptions use the new key; both stay readable
    from momenti.insights.text.kept import decrypt_original, original_cipher

    token = original_cipher(ws.settings).encrypt(b"after").decode()
    assert decrypt_original(original_cipher(ws.settings), token) == "after"
    ws.close()
    other = momenti.open(tmp_path / "data", text_keep_original=True, text_min_group=1)
    assert set(other.comments(original=True)["text"]) == {COMMENT} and other.customer_ref("C2") == ref
    other.close()


def test_webhook_secrets_survive_rotation(tmp_path: Path) -> None:
    from momenti.domains.loop import webhooks

    ws = momenti.open(tmp_path / "data", webhook_allow_hosts="127.0.0.1")
    with ws.session() as s, s.begin():
        row, secret = webhooks.add_endpoint(s, ws.settings, "http://127.0.0.1:9/hook", "*")
        enc = row.secret_enc
    ring.rotate(ws.settings)
    assert webhooks._cipher(ws.settings).decrypt(enc.encode()).decode() == secret
    ws.close()


def test_the_environment_key_is_the_operators(tmp_path: Path) -> None:
    old, new = "o" * 32, "n" * 32
    settings = get_settings(data_dir=tmp_path / "d", secret_key=old)
    before = links.sign(_claims(30), links.secret_key(settings))
    ref_key = ring.stable_derived_key(settings, b"momenti audit customer pseudonym")
    with pytest.raises(InputError, match="MOMENTI_SECRET_KEYS_RETIRED") as refused:
        ring.rotate(settings)
    assert "MOMENTI_SECRET_KEY" in str(refused.value) and old not in str(refused.value)
    assert not (tmp_path / "d" / ring.SECRET_FILE).exists()
    # what the message says to do: the new key in MOMENTI_SECRET_KEY, the old one retired
    rotated = get_settings(data_dir=tmp_path / "d", secret_key=new, secret_keys_retired=old)
    assert links.secret_keys(rotated) == [new.encode(), old.encode()]
    assert links.verify(before, links.secret_keys(rotated)).customer_id == "c1"
    assert ring.stable_derived_key(rotated, b"momenti audit customer pseudonym") == ref_key
    with pytest.raises(InputError, match="too short"):
        links.secret_keys(get_settings(data_dir=tmp_path / "d", secret_key=new, secret_keys_retired="short"))


def test_the_commands(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app
    from momenti.domains.audit import verify

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    old = links.secret_key(workspace.settings)
    runner = CliRunner()
    out = runner.invoke(app, ["secret", "rotate"])
    assert out.exit_code == 0, out.output
    new = links.secret_key(workspace.settings)
    assert "rotated" in out.stdout and new != old
    assert old.decode() not in out.output and new.decode() not in out.output
    out = runner.invoke(app, ["secret", "status"])
    assert out.exit_code == 0, out.output
    assert "retired" in out.stdout and "created" in out.stdout and "first key" in out.stdout
    assert old.decode() not in out.output and new.decode() not in out.output
    out = runner.invoke(app, ["secret", "prune", "--older-than", "0"])
    assert out.exit_code == 0 and "pruned 1" in out.stdout, out.output
    with workspace.session() as s:
        rows = s.execute(text(
            "SELECT action, actor FROM audit_log WHERE action LIKE 'secret.%' ORDER BY id")).all()
    assert [r.action for r in rows] == ["secret.rotate", "secret.prune"] and rows[0].actor.startswith("cli:")
    with workspace.session() as s:
        assert verify(s).intact
    # with MOMENTI_SECRET_KEY set: refused, nothing written, the steps explained
    monkeypatch.setenv("MOMENTI_SECRET_KEY", "e" * 32)
    out = runner.invoke(app, ["secret", "rotate"])
    assert isinstance(out.exception, InputError) and "MOMENTI_SECRET_KEYS_RETIRED" in str(out.exception)
    assert links.secret_key(workspace.settings) == new
