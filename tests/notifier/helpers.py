"""A real SMTP server (aiosmtpd) on a loopback port, and the environment of a notifier."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.ids import SectionId, SubjectId, program_id
from regledger.domain.values import ENROLLED, CommandContext


@dataclass
class Received:
    """What the server accepted: one entry per delivery (a repeat shows twice)."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    def to(self) -> Counter[str]:
        with self.lock:
            return Counter(self.recipients)

    def of(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class Handler:
    def __init__(self, received: Received, refused: set[str]) -> None:
        self.received = received
        self.refused = refused

    async def handle_RCPT(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        with self.received.lock:
            self.received.messages.append(message_from_bytes(content, _class=EmailMessage, policy=policy.default))
            self.received.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """Started by the tests; `stop()` and `start()` again on the same port (an outage)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received = Received()
        self.refused: set[str] = set()  # addresses answered 550 (a permanent refusal)
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(Handler(self.received, self.refused), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def smtp_environ(port: int) -> dict[str, str]:
    return {
        "REGLEDGER_SMTP_HOST": "127.0.0.1",
        "REGLEDGER_SMTP_PORT": str(port),
        "REGLEDGER_SMTP_SECURITY": "none",
        "REGLEDGER_SMTP_FROM": "registrar@splash.test",
        "REGLEDGER_SMTP_TIMEOUT": "5",
        "REGLEDGER_NOTIFY_BACKOFF_SECONDS": "0.05",
        "REGLEDGER_NOTIFY_MAX_ATTEMPTS": "20",
    }


def store_environ(settings: Settings) -> dict[str, str]:
    """The REGLEDGER_* variables of a store's settings (for a notifier in a subprocess)."""
    if settings.store == "sqlite":
        return {"REGLEDGER_STORE": "sqlite", "REGLEDGER_SQLITE_PATH": str(settings.sqlite_path)}
    return {
        "REGLEDGER_STORE": "postgres",
        "REGLEDGER_POSTGRES_HOST": settings.postgres_host,
        "REGLEDGER_POSTGRES_PORT": str(settings.postgres_port),
        "REGLEDGER_POSTGRES_USER": settings.postgres_user,
        "REGLEDGER_POSTGRES_DB": settings.postgres_db,
        "REGLEDGER_POSTGRES_SCHEMA": settings.postgres_schema,
        "REGLEDGER_POSTGRES_POOL_SIZE": "2",
    }


def email_of(key: str) -> str:
    return f"{key}@splash.test"


def admin(reason: str = "") -> CommandContext:
    return CommandContext(actor="admin:registrar", reason=reason)


def student(key: str) -> CommandContext:
    return CommandContext(actor=f"student:splash/{key}")


class Program:
    """Program splash: class M101 "Mechanics" with section 1 (`seats` seats, default 2) in the
    first timeslot; `other_class` adds a class in a timeslot of its own."""

    def __init__(self, app: Registration, *, seats: int = 2) -> None:
        self.app = app
        app.create_program(
            "splash",
            "Splash Fall",
            admin(),
            school_year=2027,
            settings={"waitlist_enabled": True},
            grade_min=7,
            grade_max=12,
        )
        self.pid = program_id("splash")
        self.slots: list[UUID] = []
        self.slot_of: dict[SubjectId, UUID] = {}
        self.subject = self.new_class("M101", "Mechanics", seats)
        self.section = self.new_section()

    def new_class(self, code: str, title: str, seats: int, *, first_slot: bool = False) -> SubjectId:
        """A class in a timeslot of its own (or in the first one)."""
        if not first_slot or not self.slots:
            start = datetime(2026, 11, 21, 9 + len(self.slots), tzinfo=UTC)
            end = start + timedelta(minutes=50)
            slot = self.app.add_timeslot(self.pid, f"slot{len(self.slots)}", start, end, admin())
            self.slots.append(UUID(slot.ids["timeslot_id"]))
        subject = SubjectId(
            UUID(self.app.add_subject(self.pid, code, title, admin(), class_size_max=seats).ids["subject_id"])
        )
        self.slot_of[subject] = self.slots[0] if first_slot else self.slots[-1]
        return subject

    def new_section(self, subject: SubjectId | None = None) -> SectionId:
        subject = subject or self.subject
        result = self.app.create_section(subject, [self.slot_of[subject]], admin())
        return SectionId(UUID(result.ids["section_id"]))

    def profile(self, key: str, *, email: bool = True) -> None:
        contacts = {"email": email_of(key)} if email else {}
        self.app.submit_profile(self.pid, key, key.title(), 2029, contacts, student(key))

    def add(self, key: str, section: SectionId | None = None, verb: str = ENROLLED) -> Any:
        return self.app.add_section(self.pid, key, section or self.section, student(key), verb)
