"""Sending e-mail through the SMTP server configured with MOMENTI_SMTP_* (stdlib smtplib, one connection per
batch). A message that fails is reported with its reason and the batch goes on; a connection that fails is
reported for every message of the batch."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import TYPE_CHECKING

from momenti.core.errors import InputError

if TYPE_CHECKING:
    from momenti.core.config import Settings


@dataclass
class Mail:
    to: str
    to_name: str | None
    subject: str
    text: str
    html: str
    language: str
    unsubscribe_url: str | None = None


@dataclass
class SendResult:
    ok: bool
    message_id: str | None
    detail: str | None = None


def build_message(mail: Mail, sender: str) -> EmailMessage:
    # Long lines allowed (RFC 5322's limit is 998): folding would otherwise encode the long link of
    # List-Unsubscribe as an RFC 2047 word, which mail clients then cannot use.
    msg = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    msg["From"] = sender
    msg["To"] = formataddr((mail.to_name or "", mail.to))
    msg["Subject"] = mail.subject
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Content-Language"] = mail.language
    if mail.unsubscribe_url:
        # RFC 2369 / 8058: mail clients show their own "unsubscribe" button from these headers.
        msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


class SmtpSender:
    """`with SmtpSender(settings) as smtp: smtp.send(mail)`."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise InputError("no SMTP server: set MOMENTI_SMTP_HOST (and _PORT, _USER, _PASSWORD, _FROM, _STARTTLS)")
        self.settings = settings
        self._conn: smtplib.SMTP | None = None
        self._error: str | None = None

    def __enter__(self) -> SmtpSender:
        s = self.settings
        try:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            if s.smtp_starttls:
                conn.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                conn.login(s.smtp_user, s.smtp_password or "")
            self._conn = conn
        except (OSError, smtplib.SMTPException) as exc:
            self._error = f"SMTP {s.smtp_host}:{s.smtp_port}: {_reason(exc)}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                self._conn.close()
            self._conn = None

    def send(self, mail: Mail) -> SendResult:
        return self.send_message(build_message(mail, self.settings.smtp_from))

    def send_message(self, msg: EmailMessage) -> SendResult:
        """A message built by the caller (one with attachments: a report), on the open connection."""
        message_id = str(msg["Message-ID"])
        if self._conn is None:
            return SendResult(False, message_id, self._error or "not connected")
        try:
            refused = self._conn.send_message(msg)
        except smtplib.SMTPServerDisconnected as exc:
            self._conn = None
            self._error = f"connection lost: {_reason(exc)}"
            return SendResult(False, message_id, self._error)
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult(False, message_id, _reason(exc))
        if refused:
            return SendResult(False, message_id, "; ".join(f"{k}: {_reason(v)}" for k, v in refused.items()))
        return SendResult(True, message_id)


def _reason(exc: object) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{k}: {_reason(v)}" for k, v in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, tuple) and len(exc) == 2:  # send_message's refused dict: (code, message)
        code, text = exc
        return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
