"""What runs of every kind share (the main lottery, class change, admission: `LotteryRun`s told
apart by `parameters["kind"]`): loading a run of one kind, and a small per-process cache of
results whose digests were checked (a run never changes its result)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from regledger.domain.errors import RegistrationError
from regledger.domain.lottery_run import LotteryRun

if TYPE_CHECKING:
    from regledger.domain.application import Registration

CACHED_RESULTS = 4


def checked_results(app: Registration, kind: str) -> OrderedDict[UUID, Any]:
    """The kind's checked results in this process, oldest first."""
    return cast("OrderedDict[UUID, Any]", app.__dict__.setdefault(f"_checked_{kind}", OrderedDict()))


def remember(app: Registration, kind: str, run_id: UUID, checked: Any) -> None:
    cache = checked_results(app, kind)
    cache[run_id] = checked
    cache.move_to_end(run_id)
    while len(cache) > CACHED_RESULTS:
        cache.popitem(last=False)


def load_of_kind(app: Registration, run_id: UUID, kind: str, refusal: Callable[[], RegistrationError]) -> LotteryRun:
    """The run, refused with `refusal()` when it is of another kind."""
    run = app.load_run(run_id)
    if run.parameters.get("kind") != kind:
        raise refusal()
    return run
