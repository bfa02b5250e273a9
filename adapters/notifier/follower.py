"""The notifier's follower: the log's events into outbox messages, exactly once, batch by batch.

Like the projector it reads the notification log after its own tracked position (only the topics
`projections.notices` folds), folds a batch and writes the batch's messages, contacts and names
with the new position in one transaction (`OutboxStore.apply`, conditional on the position the
batch was read after). A crash or SIGKILL before that commit loses nothing: the batch is read
again after a restart; after it nothing is written twice. It never sends: the sender reads the
outbox on its own (`sender.py`), so a slow or failing mail server never holds the follower up,
and the follower is never part of a command's transaction.

A batch always ends at the end of a commit (`commit_groups`): a command's events are
consecutive in the log, so one commit's notices to a student become one message however many
pages its events span. On its first start the notifier takes the log's head as history
(`quiet_until`): it learns contacts and names from it and mails nothing about it, unless
`from_start` asks for the whole log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from regledger.adapters.following import follow
from regledger.adapters.notifier.store import EMAIL, FOLLOWER, OutboxRow, OutboxStore
from regledger.adapters.notifier.templates import Renderer
from regledger.domain.runner import utc_now
from regledger.projections.log_pages import LogEntry, LogPages, RecorderLogPages, to_domain_event
from regledger.projections.notices import TOPICS, Contact, Folded, Name, commit_groups, fold

logger = logging.getLogger("regledger.notifier")

# Ids seen to hold nothing of interest are recorded as the position once this many accumulate.
SKIP_RECORDED = 10_000


class Notifier:
    """Follows one application's log into one outbox (one notifier per outbox at a time: a
    second one's batches are refused by the position check and it resumes after the first's)."""

    def __init__(
        self,
        app: Application[UUID],
        store: OutboxStore,
        *,
        channels: Sequence[str] = (EMAIL,),
        renderer: Renderer | None = None,
        pages: LogPages | None = None,
        batch_size: int = 500,
        poll_interval: float = 0.05,
        from_start: bool = False,
        clock: Callable[[], datetime] = utc_now,
        tracking: str = FOLLOWER,
        head: Callable[[], int] | None = None,
    ) -> None:
        """`pages`, `head` and `tracking`: the log followed and its row in the outbox's tracking,
        by default the application's whole log (`program_logs` passes one program's table)."""
        self.app = app
        self.store = store
        self.channels = tuple(channels)
        self.renderer = renderer or Renderer()
        self._pages = pages or RecorderLogPages(app)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.clock = clock
        self.tracking = tracking
        self._head = head or (lambda: app.recorder.max_notification_id() or 0)
        store.create_tables(quiet_until=0 if from_start else (app.recorder.max_notification_id() or 0))
        if tracking != FOLLOWER:
            store.track(tracking)
        self.quiet_until = store.quiet_until()
        self._position: int | None = None
        self._seen = 0  # ids up to here hold nothing for the notifier (may pass the position)
        self._contacts: dict[UUID, Contact] | None = None
        self._names: dict[UUID, Name] | None = None
        self._stop = threading.Event()
        self.messages = 0  # written by this notifier (all channels)

    @property
    def position(self) -> int | None:
        return self._position

    def forget_position(self) -> None:
        """Read the position from the outbox next time (another notifier moved it)."""
        self._position = None

    # -- one batch ----------------------------------------------------------------------------

    def step(self) -> int:
        """Write the messages of the next batch of whole commits; returns the events read."""
        after = self._position if self._position is not None else self.store.position(self.tracking)
        # Every id up to the head read before a read that found nothing is committed and of no
        # interest (the table lock makes commit order id order): later reads start past it,
        # instead of scanning a long tail of other events at every poll.
        head = self._head()
        entries, events = self._read(max(after, self._seen))
        if not entries:
            self._seen = max(self._seen, head)
            if self._seen - after >= SKIP_RECORDED:
                self.store.apply(after, self._seen, [], [], [], name=self.tracking)  # a restart skips it too
                after = self._seen
            self._position = after
            return 0
        try:
            contacts, names = self._known()
            folded = fold(
                zip((e.id for e in entries), events, strict=True), contacts, names, quiet_until=self.quiet_until
            )
            messages = self._messages(folded, contacts, names)
            contacts_seen, names_seen = list(folded.contacts.values()), list(folded.names.values())
            self.store.apply(after, entries[-1].id, contacts_seen, names_seen, messages, name=self.tracking)
        except BaseException:
            # The folded state may hold what was not committed: read it all again.
            self._position = self._contacts = self._names = None
            raise
        self._position = entries[-1].id
        self.messages += len(messages)
        return len(entries)

    def _known(self) -> tuple[dict[UUID, Contact], dict[UUID, Name]]:
        if self._contacts is None or self._names is None:
            self._contacts, self._names = self.store.contacts(), self.store.names()
        return self._contacts, self._names

    def _read(self, after: int) -> tuple[list[LogEntry], list[Any]]:
        """The entries (and their events) of the whole commits after `after`, at least one commit
        unless the log ends: a commit larger than a page is read on to its end."""
        entries: list[LogEntry] = []
        events: list[Any] = []
        start = after
        while True:
            page = list(self._pages(start, self.batch_size, topics=TOPICS))
            entries.extend(page)
            events.extend(to_domain_event(self.app.mapper, entry) for entry in page)
            keep = commit_groups([e.command_id for e in events], complete=len(page) < self.batch_size)
            if keep > 0 or not entries:
                return entries[:keep], events[:keep]
            start = entries[-1].id

    def _messages(self, folded: Folded, contacts: dict[UUID, Contact], names: dict[UUID, Name]) -> list[OutboxRow]:
        now = self.clock()
        rows: list[OutboxRow] = []
        for commit in folded.commits:
            for student_id, notices in commit.notices.items():
                contact = contacts.get(student_id)
                rendered = self.renderer.render(contact, notices, names)
                email = contact.email if contact else None
                for channel in self.channels:
                    pending = channel != EMAIL or email is not None
                    rows.append(
                        OutboxRow(
                            position=commit.position,
                            student_id=student_id,
                            channel=channel,
                            command_id=commit.command_id,
                            program_id=contact.program_id if contact else None,
                            student_key=contact.student_key if contact else None,
                            recipient=email,
                            kind=rendered.kind,
                            subject=rendered.subject,
                            body_text=rendered.text,
                            body_html=rendered.html,
                            status="pending" if pending else "no_address",
                            attempts=0,
                            last_error=None,
                            created_at=now,
                            next_attempt_at=now if pending else None,
                            sent_at=None,
                        )
                    )
        return rows

    def catch_up(self) -> int:
        """Batches until the log's end; returns the events read."""
        total = 0
        while not self._stop.is_set() and (read := self.step()):
            total += read
        return total

    # -- following ----------------------------------------------------------------------------

    def run_forever(self) -> None:
        """Follow until stop(), polling every `poll_interval` at the log's head. A transient fault
        (a lost connection, a locked file) is retried from the stored position with backoff,
        logged when it starts and ends; any other error is logged and raised."""
        try:
            follow(
                "notifier",
                self._stop,
                lambda: self.step() < self.batch_size,
                lambda: self._stop.wait(self.poll_interval),
                moved=self.forget_position,  # another notifier moved it: go on from there
            )
        except Exception:
            logger.exception("notifier stopped on an error (outbox at position %s)", self._position)
            raise

    def stop(self) -> None:
        self._stop.set()
