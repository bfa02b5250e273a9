"""The sender: the outbox's due messages out through SMTP (smtplib) and, optionally, a webhook.

It reads `pending` rows whose `next_attempt_at` has come, one channel at a time, and records each
outcome in its own transaction: `sent`, or a failed attempt (the error, the attempt count, the
next attempt after a doubling backoff; `failed` after `notify_max_attempts`, or at once when the
server refuses for good: SMTP 5xx, HTTP 4xx). When the server cannot be reached at all the round
stops (the rest are not attempted, so they keep their attempts) and the sender waits a doubling
backoff before the next round.

Delivery is at least once: a kill between the server's acceptance and the `sent` commit sends
that one message again. Its Message-ID is the same on every attempt (`OutboxRow.message_id`), so
a receiver can drop the repeat.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import httpx

from regledger.adapters.notifier.store import EMAIL, WEBHOOK, OutboxRow, OutboxStore, backoff
from regledger.adapters.settings import Settings
from regledger.domain.runner import utc_now

logger = logging.getLogger("regledger.notifier")


class DeliveryError(Exception):
    """A failed attempt. `permanent`: do not retry; `unreachable`: stop this round."""

    def __init__(self, message: str, *, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable


class Transport(Protocol):
    channel: str

    def send(self, row: OutboxRow) -> None: ...
    def close(self) -> None: ...


def email_message(row: OutboxRow, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient or ""
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at)
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    return message


class SmtpTransport:
    """One SMTP session kept open across messages, opened again after a failure."""

    channel = EMAIL

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("REGLEDGER_SMTP_HOST is not set")
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        host = s.smtp_host or ""
        context = ssl.create_default_context(cafile=str(s.smtp_ca_file) if s.smtp_ca_file else None)
        smtp: smtplib.SMTP
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(host, s.smtp_port, timeout=s.smtp_timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, s.smtp_port, timeout=s.smtp_timeout)
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password.get_secret_value() if s.smtp_password else "")
        return smtp

    def send(self, row: OutboxRow) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise DeliveryError(f"SMTP login refused: {exc}", unreachable=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"SMTP server unreachable: {exc!r}", unreachable=True) from exc
        try:
            self._smtp.send_message(email_message(row, self.settings.smtp_from))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=min(codes) >= 500) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=True) from exc
            self.close()  # 4xx: the session may be in any state
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"SMTP session failed: {exc!r}", unreachable=True) from exc

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


class WebhookTransport:
    """POSTs each message as JSON; 2xx is delivered, 4xx (but 408 and 429) refused for good."""

    channel = WEBHOOK

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout)

    def send(self, row: OutboxRow) -> None:
        payload = {
            "message_id": row.message_id,
            "position": row.position,
            "command_id": row.command_id,
            "program_id": str(row.program_id) if row.program_id else None,
            "student_id": str(row.student_id),
            "student_key": row.student_key,
            "email": row.recipient,
            "kind": row.kind,
            "subject": row.subject,
            "text": row.body_text,
        }
        try:
            response = self._client.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {exc!r}", unreachable=True) from exc
        if response.is_success:
            return
        status = response.status_code
        permanent = 400 <= status < 500 and status not in (408, 429)
        raise DeliveryError(f"webhook answered {status}", permanent=permanent, unreachable=status >= 500)

    def close(self) -> None:
        self._client.close()


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unreachable: bool = False

    def add(self, other: Report) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.unreachable = self.unreachable or other.unreachable


class Sender:
    def __init__(
        self,
        store: OutboxStore,
        transports: Sequence[Transport],
        *,
        backoff_seconds: float = 30.0,
        max_attempts: int = 8,
        batch_size: int = 100,
        poll_interval: float = 0.5,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.transports = list(transports)
        self.backoff_seconds = backoff_seconds
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.clock = clock
        self._stop = threading.Event()
        self.total = Report()

    @classmethod
    def for_settings(cls, settings: Settings, store: OutboxStore, **kwargs: object) -> Sender:
        transports: list[Transport] = []
        if settings.smtp_host:
            transports.append(SmtpTransport(settings))
        if settings.webhook_url:
            transports.append(WebhookTransport(settings.webhook_url, timeout=settings.smtp_timeout))
        return cls(
            store,
            transports,
            backoff_seconds=settings.notify_backoff_seconds,
            max_attempts=settings.notify_max_attempts,
            **kwargs,  # type: ignore[arg-type]
        )

    def round(self) -> Report:
        """One batch of due messages per channel."""
        report = Report()
        for transport in self.transports:
            report.add(self._round(transport))
        self.total.add(report)
        return report

    def _round(self, transport: Transport) -> Report:
        report = Report()
        for row in self.store.due(transport.channel, self.clock(), self.batch_size):
            try:
                transport.send(row)
            except DeliveryError as exc:
                status = self.store.mark_failed(
                    row,
                    str(exc),
                    self.clock(),
                    base=self.backoff_seconds,
                    max_attempts=self.max_attempts,
                    permanent=exc.permanent,
                )
                if status == "failed":
                    report.failed += 1
                    logger.warning("message %s failed for good: %s", row.message_id, exc)
                else:
                    report.retrying += 1
                if exc.unreachable:
                    report.unreachable = True
                    break
            else:
                self.store.mark_sent(row, self.clock())
                report.sent += 1
        return report

    def send_due(self) -> Report:
        """Rounds until nothing is due now, or a server cannot be reached (`--once`)."""
        total = Report()
        while not self._stop.is_set():
            report = self.round()
            total.add(report)
            if report.unreachable or report.sent + report.retrying + report.failed == 0:
                return total
        return total

    def run_forever(self) -> None:
        """Rounds until stop(): at once while there is work, then every `poll_interval`; after
        an unreachable server, a doubling backoff (`backoff_seconds`, at most an hour)."""
        outages = 0
        while not self._stop.is_set():
            try:
                report = self.round()
            except Exception:
                logger.exception("sending failed; retrying")
                report = Report(unreachable=True)
            outages = outages + 1 if report.unreachable else 0
            if outages:
                self._stop.wait(backoff(outages, self.backoff_seconds).total_seconds())
            elif report.sent + report.retrying + report.failed == 0:
                self._stop.wait(self.poll_interval)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        for transport in self.transports:
            transport.close()
