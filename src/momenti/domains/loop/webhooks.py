"""Webhooks after the Standard Webhooks specification: endpoints, deliveries, signed attempts, replay, rotation.

An endpoint subscribes to event types; every matching outbox event becomes one delivery per endpoint (unique
on endpoint and event, so an event handed over twice is delivered once). A delivery keeps one `webhook-id`
across its attempts, the receiver's idempotency key. Attempts follow MOMENTI_WEBHOOK_RETRY_SCHEDULE (seconds
before each attempt), honour `Retry-After`, stop for good on `410 Gone` (the endpoint is disabled) and disable
an endpoint that has failed for MOMENTI_WEBHOOK_DISABLE_AFTER_DAYS. Signing is the `standardwebhooks`
package's; during a rotation both secrets sign. The job runner runs the attempts (pipelines/loop.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from momenti.core.clock import utcnow
from momenti.core.errors import InputError, NotFoundError
from momenti.core.secrets import fernet
from momenti.domains.loop.ssrf import allow_list, check_url
from momenti.store.loop import WebhookAttempt, WebhookDelivery, WebhookEndpoint

EVENT_TYPES = ("case.opened", "case.updated", "case.breached", "response.alert", "feedback.alert", "events.alert",
               "metric.alert")
_KEY_INFO = b"momenti-webhook-secret"


def retry_schedule(settings: Any) -> list[float]:
    try:
        out = [float(x) for x in str(settings.webhook_retry_schedule).split(",") if x.strip()]
    except ValueError:
        raise InputError(f"MOMENTI_WEBHOOK_RETRY_SCHEDULE {settings.webhook_retry_schedule!r}: seconds, "
                         "comma-separated") from None
    if not out or any(x < 0 for x in out):
        raise InputError("MOMENTI_WEBHOOK_RETRY_SCHEDULE: at least one delay, none negative")
    return out


def parse_events(value: str | list[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else [p for v in value for p in v.split(",")]
    events = sorted({e.strip() for e in items if e.strip()})
    unknown = [e for e in events if e not in EVENT_TYPES and e != "*"]
    if unknown or not events:
        raise InputError(f"event type {','.join(unknown) or '(none)'}: choose from {', '.join(EVENT_TYPES)} or *")
    return events


def _cipher(settings: Any) -> Any:
    return fernet(settings, _KEY_INFO)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_endpoint(session: Session, settings: Any, url: str, events: str | list[str],
                 description: str | None = None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown once; stored encrypted). The URL passes the SSRF guard."""
    url = check_url(url, allow_list(settings.webhook_allow_hosts))
    secret = new_secret()
    row = WebhookEndpoint(url=url, events=",".join(parse_events(events)),
                          secret_enc=_cipher(settings).encrypt(secret.encode()).decode(), description=description,
                          created_at=utcnow())
    session.add(row)
    session.flush()
    return row, secret


def get_endpoint(session: Session, endpoint_id: int | str) -> WebhookEndpoint:
    try:
        row = session.get(WebhookEndpoint, int(endpoint_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFoundError(f"webhook endpoint {endpoint_id}: no such endpoint")
    return row


def rotate_secret(session: Session, settings: Any, endpoint_id: int | str) -> str:
    """A new secret; the old one keeps signing beside it for MOMENTI_WEBHOOK_ROTATION_HOURS."""
    row = get_endpoint(session, endpoint_id)
    secret = new_secret()
    row.old_secret_enc, row.secret_enc = row.secret_enc, _cipher(settings).encrypt(secret.encode()).decode()
    row.old_secret_until = utcnow() + dt.timedelta(hours=settings.webhook_rotation_hours)
    return secret


def set_enabled(session: Session, endpoint_id: int | str, enabled: bool, reason: str | None = None) -> None:
    row = get_endpoint(session, endpoint_id)
    row.disabled_at = None if enabled else utcnow()
    row.disabled_reason = None if enabled else (reason or "disabled by hand")
    if enabled:
        row.failing_since = None


def endpoints(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(select(WebhookDelivery.endpoint_id, func.count())
                                  .where(WebhookDelivery.status == "pending")
                                  .group_by(WebhookDelivery.endpoint_id)).all())
    return [{"id": e.id, "url": e.url, "events": e.events, "created_at": e.created_at, "disabled_at": e.disabled_at,
             "disabled_reason": e.disabled_reason, "failing_since": e.failing_since,
             "pending": int(counts.get(e.id, 0))}
            for e in session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))]


# -- deliveries -------------------------------------------------------------------------------------------


def _matches(endpoint: WebhookEndpoint, kind: str) -> bool:
    wanted = endpoint.events.split(",")
    return "*" in wanted or kind in wanted


def enqueue_events(session: Session, settings: Any, events: list[tuple[int, str, dict[str, Any]]]) -> list[int]:
    """One pending delivery per (endpoint subscribed to the event's type, event); ids of the new ones."""
    live = list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))))
    if not live or not events:
        return []
    ids = [e[0] for e in events]
    seen = set(session.execute(select(WebhookDelivery.endpoint_id, WebhookDelivery.event_id)
                               .where(WebhookDelivery.event_id.in_(ids))).all())
    now = utcnow()
    base = settings.public_url.rstrip("/")
    new: list[WebhookDelivery] = []
    for event_id, kind, payload in events:
        for ep in live:
            if (ep.id, event_id) in seen or not _matches(ep, kind):
                continue
            data = dict(payload)
            if "case_id" in data:
                data["url"] = f"{base}/cases/{data['case_id']}"
            body = {"type": kind, "timestamp": now.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z"),
                    "data": data}
            new.append(WebhookDelivery(endpoint_id=ep.id, event_id=event_id, msg_id=f"msg_{uuid.uuid4().hex}",
                                       event_type=kind, payload=body, status="pending", attempts=0,
                                       next_attempt_at=now, created_at=now))
    session.add_all(new)
    session.flush()
    return [d.id for d in new]


@dataclass(frozen=True)
class AttemptResult:
    delivery_id: int
    status_code: int | None
    delivered: bool
    next_delay_s: float | None  # when to try again; None: no further attempt (delivered or given up)


def _signature(settings: Any, ep: WebhookEndpoint, msg_id: str, at: dt.datetime, body: str) -> str:
    cipher = _cipher(settings)
    sigs = [Webhook(cipher.decrypt(ep.secret_enc.encode()).decode()).sign(msg_id, at, body)]
    if ep.old_secret_enc and ep.old_secret_until and ep.old_secret_until > utcnow():
        sigs.append(Webhook(cipher.decrypt(ep.old_secret_enc.encode()).decode()).sign(msg_id, at, body))
    return " ".join(sigs)


def _retry_after(value: str | None, now: dt.datetime) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when.astimezone(dt.UTC).replace(tzinfo=None) - now).total_seconds())


def claim(engine: Any, delivery_id: int, lease_s: float) -> bool:
    """Take the delivery for one attempt (another process or a duplicate job then skips it)."""
    now = utcnow()
    with engine.begin() as conn:
        done = conn.execute(update(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
            (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until < now),
            (WebhookDelivery.next_attempt_at.is_(None))
            | (WebhookDelivery.next_attempt_at <= now + dt.timedelta(seconds=1)))
            .values(claimed_until=now + dt.timedelta(seconds=lease_s))).rowcount
    return bool(done)


def attempt(engine: Any, settings: Any, delivery_id: int, client: httpx.Client | None = None
            ) -> AttemptResult | None:
    """One attempt of a due delivery, recorded; None when it is not due or another worker holds it."""
    if not claim(engine, delivery_id, settings.webhook_timeout_s + 30):
        return None
    with Session(engine) as session, session.begin():
        d = session.get(WebhookDelivery, delivery_id)
        assert d is not None
        ep = session.get(WebhookEndpoint, d.endpoint_id)
        assert ep is not None
        number = (session.scalar(select(func.count()).where(WebhookAttempt.delivery_id == d.id)) or 0) + 1
        body = json.dumps(d.payload, separators=(",", ":"), ensure_ascii=False)
        code, excerpt, error, retry_after = None, None, None, None
        started = time.perf_counter()
        if ep.disabled_at is not None:
            error = f"endpoint disabled: {ep.disabled_reason or ''}"[:300]
        else:
            try:
                check_url(ep.url, allow_list(settings.webhook_allow_hosts))
                at = dt.datetime.now(dt.UTC)
                headers = {"content-type": "application/json", "user-agent": "momenti-webhooks/1",
                           "webhook-id": d.msg_id, "webhook-timestamp": str(int(at.timestamp())),
                           "webhook-signature": _signature(settings, ep, d.msg_id, at, body)}
                own = client is None
                http = client or httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
                try:
                    resp = http.post(ep.url, content=body.encode(), headers=headers)
                finally:
                    if own:
                        http.close()
                code, excerpt = resp.status_code, resp.text[:300]
                retry_after = _retry_after(resp.headers.get("retry-after"), utcnow())
            except InputError as exc:
                error = str(exc)[:300]
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
        latency = (time.perf_counter() - started) * 1000
        now = utcnow()
        d.attempts += 1
        d.claimed_until = None
        ok = code is not None and 200 <= code < 300
        delay: float | None = None
        if ok:
            d.status, d.finished_at, d.next_attempt_at = "delivered", now, None
            ep.failing_since = None
        elif code == 410 or ep.disabled_at is not None:
            d.status, d.finished_at, d.next_attempt_at = "failed", now, None
            if ep.disabled_at is None:
                ep.disabled_at, ep.disabled_reason = now, "the receiver answered 410 Gone"
        else:
            ep.failing_since = ep.failing_since or now
            schedule = retry_schedule(settings)
            if now - ep.failing_since > dt.timedelta(days=settings.webhook_disable_after_days):
                ep.disabled_at = now
                ep.disabled_reason = f"failing since {ep.failing_since:%Y-%m-%d %H:%M} UTC"
            if d.attempts < len(schedule) and ep.disabled_at is None:
                delay = schedule[d.attempts]
                if retry_after is not None:
                    delay = max(delay, min(retry_after, 86_400.0))
                d.next_attempt_at = now + dt.timedelta(seconds=delay)
            else:
                d.status, d.finished_at, d.next_attempt_at = "failed", now, None
        session.add(WebhookAttempt(delivery_id=d.id, number=number, at=now, status_code=code, latency_ms=latency,
                                   error=error, response_excerpt=excerpt, next_delay_s=delay))
        return AttemptResult(d.id, code, ok, delay)


def due(session: Session, limit: int = 500) -> list[int]:
    """Pending deliveries whose time has come and nobody holds (the sweep's safety net for lost jobs)."""
    now = utcnow()
    return list(session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
        (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until < now))
        .order_by(WebhookDelivery.id).limit(limit)))


def replay(session: Session, delivery_id: int | str | None = None, since: dt.datetime | None = None) -> list[int]:
    """Send deliveries again (same webhook-id, the schedule restarting): one by id, or every one created since
    a time. The ids set pending."""
    stmt = select(WebhookDelivery)
    if delivery_id is not None:
        try:
            stmt = stmt.where(WebhookDelivery.id == int(delivery_id))
        except (TypeError, ValueError):
            raise InputError(f"delivery id {delivery_id!r}: a number") from None
    elif since is not None:
        stmt = stmt.where(WebhookDelivery.created_at >= since)
    else:
        raise InputError("replay: give a delivery id or --since TIME")
    rows = list(session.scalars(stmt))
    if delivery_id is not None and not rows:
        raise NotFoundError(f"webhook delivery {delivery_id}: no such delivery")
    now = utcnow()
    for d in rows:
        d.status, d.attempts, d.next_attempt_at, d.claimed_until, d.finished_at = "pending", 0, now, None, None
    return [d.id for d in rows]


def deliveries(session: Session, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
    """The delivery log: each delivery with its attempts (status, latency, response excerpt), newest first."""
    stmt = select(WebhookDelivery, WebhookEndpoint.url).join(
        WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows = session.execute(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    attempts: dict[int, list[dict[str, Any]]] = {}
    if rows:
        for a in session.scalars(select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_([d.id for d, _ in rows])).order_by(WebhookAttempt.id)):
            attempts.setdefault(a.delivery_id, []).append(
                {"number": a.number, "at": a.at, "status_code": a.status_code, "latency_ms": round(a.latency_ms, 1),
                 "error": a.error, "response": a.response_excerpt, "next_delay_s": a.next_delay_s})
    return [{"id": d.id, "endpoint_id": d.endpoint_id, "url": url, "event_type": d.event_type, "webhook_id": d.msg_id,
             "event_id": d.event_id, "status": d.status, "attempts": d.attempts, "created_at": d.created_at,
             "next_attempt_at": d.next_attempt_at, "finished_at": d.finished_at,
             "log": attempts.get(d.id, [])} for d, url in rows]
