"""`regledger project` keeps the lottery input's checkpoints fresh, so that the first
`start_lottery` of a program in a fresh server process reads a recent checkpoint and folds only
the tail of the log, even if no lottery was ever started before (docs/architecture.md).

The warmer folds every program up to the log's head in the projector's process, every
`interval` seconds; the fold saves a checkpoint once it has applied enough events
(`projections.lottery_input.CHECKPOINT_EVENTS`). A failure is logged and tried again later:
checkpoints are a cache, never needed for correctness."""

from __future__ import annotations

import logging
import threading

from regledger.adapters.following import TRANSIENT
from regledger.adapters.postgres.wakeup import one_line
from regledger.domain.application import Registration
from regledger.domain.ids import ProgramId
from regledger.projections.catalogue import CatalogueViews

logger = logging.getLogger("regledger.lottery")

INTERVAL_SECONDS = 30.0


def warm_checkpoints(app: Registration, views: CatalogueViews) -> int:
    """Fold every program known to the views up to its head; returns how many."""
    programs = views.programs()
    for program in programs:
        program_id = ProgramId(program.program_id)
        app.lottery_inputs.lottery_snapshot(program_id, app.program_position(program_id))
    return len(programs)


class CheckpointWarmer:
    """A daemon thread running `warm_checkpoints` until `stop()`."""

    def __init__(self, app: Registration, views: CatalogueViews, interval: float = INTERVAL_SECONDS) -> None:
        self.app = app
        self.views = views
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lottery-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                warm_checkpoints(self.app, self.views)
            except TRANSIENT as exc:  # an outage: the projector reports it; try again later
                logger.info("lottery checkpoints not refreshed (database unavailable): %s", one_line(exc))
            except Exception:  # a cache: log, and try again at the next interval
                logger.warning("lottery checkpoints not refreshed", exc_info=True)
            self._stop.wait(self.interval)
