"""The lottery's input as of a log position, folded from the stored events themselves.

A run must be replayable from its recorded position forever, so the fold reads the log, not
the views: pages of the topics that matter up to the position, into plain state
(`lottery_fold.py`), other programs' events skipped before they are decoded. What the input
holds is in `lottery_snapshot.py`.

A fold from zero reads the whole log (1.3 s for a Splash-scale program on PostgreSQL), so the
fold is checkpointed (`FoldCheckpoints`, stored by the adapters): after it has applied
`CHECKPOINT_EVENTS` events of the program since it was created or last checkpointed, its state
(`lottery_fold_state.dump_fold`) is saved at its position. A fold a process does not hold yet
starts from the latest checkpoint at or before the position asked for and reads only the rest
of the log; that equals a fold from zero (tested on every store).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application

from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import ProgramId
from regledger.domain.lottery.model import InputSnapshot
from regledger.projections.log_pages import LogPages, RecorderLogPages, to_domain_event
from regledger.projections.lottery_fold import Fold
from regledger.projections.lottery_fold_state import dump_fold, fold_signature, load_fold
from regledger.projections.stored_state import guarded_state, reads_plain_json

PAGE = 1000
T = TypeVar("T")
# Programs whose fold is kept in process (one Splash-scale fold is a few MB).
CACHED_FOLDS = 4
# A fold that has applied this many of its program's events since its last checkpoint saves one.
CHECKPOINT_EVENTS = 5000
logger = logging.getLogger(__name__)


class FoldCheckpoints(Protocol):
    """Where folds are checkpointed: plain states (`dump_fold`) by program and log position."""

    def latest(self, program_id: ProgramId, at_most: int, signature: str) -> dict[str, Any] | None:
        """The checkpoint of this signature with the greatest position <= `at_most`, if any."""
        ...

    def save(self, program_id: ProgramId, position: int, signature: str, state: dict[str, Any]) -> None: ...


class LotteryInputFold:
    """The domain's `LotteryInputSource`: a program's input read straight from the event log.

    The folds of the latest programs are kept and moved forward from the last position read,
    so a later run reads only the new events. On every store a position once read has no gaps
    that fill later (PostgreSQL's insert lock, SQLite's single writer), so a fold continued
    from p to q equals a fold from zero to q. An older position is folded from zero."""

    def __init__(
        self,
        app: Application[UUID],
        log_pages: LogPages | None = None,
        checkpoints: FoldCheckpoints | None = None,
        checkpoint_events: int = CHECKPOINT_EVENTS,
        head_of: Callable[[ProgramId], int] | None = None,
    ) -> None:
        """`head_of(program)`: the position up to which the program's events are all committed
        (by default the log's head; with a log per program, its own: `program_position`)."""
        self.recorder = app.recorder
        self.head_of = head_of or (lambda _program: self.recorder.max_notification_id() or 0)
        self.mapper = app.mapper
        self.log_pages = log_pages or RecorderLogPages(app)
        self.checkpoints = checkpoints
        self.checkpoint_events = checkpoint_events
        self._folds: OrderedDict[ProgramId, Fold] = OrderedDict()
        self._lock = threading.Lock()

    def lottery_snapshot(self, program_id: ProgramId, position: int) -> InputSnapshot:
        """The input as of `position` (inclusive); independent of every projection."""
        return self.read_fold(program_id, position, lambda fold: fold.snapshot(position))

    def read_fold(self, program_id: ProgramId, position: int, read: Callable[[Fold], T]) -> T:
        """`read(fold)` on the program's fold as of `position`; it must raise if no program."""
        if position < 0:
            raise InvalidInputError("A log position is not negative", position=position)
        with self._lock:
            cached = self._folds.get(program_id)
            if cached is not None and cached.position <= position:
                self._fold_up_to(cached, position)
                self._folds.move_to_end(program_id)
                self._checkpoint(cached)
                return read(cached)
        fold = self._restored(program_id, position) or Fold(program_id)
        self._fold_up_to(fold, position)
        self._checkpoint(fold)
        snapshot = read(fold)  # before the fold is shared
        with self._lock:
            cached = self._folds.get(program_id)
            if cached is None or cached.position < fold.position:
                self._folds[program_id] = fold
                self._folds.move_to_end(program_id)
                while len(self._folds) > CACHED_FOLDS:
                    self._folds.popitem(last=False)
        return snapshot

    def lottery_participants(self, program_id: ProgramId, position: int) -> set[UUID]:
        """Students with stars or priorities as of `position`: cheaper than a snapshot."""
        return self.read_fold(program_id, position, lambda fold: fold.participants())

    def program_members(self, program_id: ProgramId) -> tuple[list[UUID], list[UUID]]:
        """Ids of every section and class of the program, as of the log's head."""
        self.lottery_snapshot(program_id, self.head_of(program_id))
        with self._lock:
            fold = self._folds[program_id]
            return list(fold.sections), list(fold.subjects)

    def lottery_snapshot_from_zero(self, program_id: ProgramId, position: int) -> InputSnapshot:
        """The same input, folded from the start of the log without the cache or a checkpoint
        (for checks)."""
        fold = Fold(program_id)
        self._fold_up_to(fold, position)
        return fold.snapshot(position)

    def _restored(self, program_id: ProgramId, position: int) -> Fold | None:
        """The latest checkpoint at or before `position`; a failed read only costs time."""
        if self.checkpoints is None:
            return None
        try:
            plain = self.checkpoints.latest(program_id, position, fold_signature())
            return None if plain is None else load_fold(plain)
        except Exception as exc:  # a cache: one line (a database outage is no program error)
            logger.warning("lottery fold checkpoint unreadable; folding from zero: %s", _one_line(exc))
            return None

    def _checkpoint(self, fold: Fold) -> None:
        """Save the fold when it has applied enough events; a failed save only costs time.
        Called while the fold is not shared or under the lock, so it is not moving."""
        if self.checkpoints is None or fold.applied < self.checkpoint_events or fold.settings is None:
            return
        try:
            self.checkpoints.save(fold.program_id, fold.position, fold_signature(), dump_fold(fold))
        except Exception as exc:
            logger.warning("lottery fold checkpoint not saved: %s", _one_line(exc))
            return
        fold.applied = 0

    def _fold_up_to(self, fold: Fold, position: int) -> None:
        """Apply the program's events with fold.position < notification id <= position; the fold
        is then read up to min(position, the head before reading): later ids may still be filled."""
        head = self.head_of(fold.program_id)
        handlers = fold.handlers
        mapper = self.mapper
        raw_handlers = fold.raw_handlers if reads_plain_json(mapper) else {}
        topics: Sequence[str] = fold.topics
        start = fold.position + 1
        while position >= start:
            page = self.log_pages(start - 1, PAGE, stop=position, topics=topics)
            for notification in page:
                topic = notification.topic
                is_created, handle = handlers[topic]
                if is_created or fold.is_ours(notification.originator_id):
                    fold.memo = None
                    fold.applied += 1
                    raw = raw_handlers.get(topic)
                    state = guarded_state(topic, notification.state) if raw is not None else None
                    if raw is not None and state is not None:
                        raw(cast(UUID, notification.originator_id), state)
                    else:
                        handle(to_domain_event(mapper, notification))
            if len(page) < PAGE:
                break
            start = page[-1].id + 1
        fold.position = max(fold.position, min(position, head))


__all__ = ["CHECKPOINT_EVENTS", "FoldCheckpoints", "LotteryInputFold"]


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
