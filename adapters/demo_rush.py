"""The demo's first-come-first-served rush: threads race for the hottest sections through the
real commands (add, drop, switch, waitlist, replace), and a tally of what happened."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from regledger.adapters.bootstrap import Services
from regledger.adapters.simulation.synthetic import SyntheticProgram
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import ProgramId, SectionId
from regledger.domain.values import ENROLLED, CommandContext

if TYPE_CHECKING:
    from regledger.adapters.demo import DemoOptions


@dataclass
class RushTally:
    """What the first-come-first-served threads did, by operation and outcome."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    accepted: dict[str, set[str]] = field(default_factory=dict)  # operation -> students
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, outcome: str, key: str) -> None:
        with self.lock:
            self.outcomes[(op, outcome)] += 1
            if outcome == "accepted":
                self.accepted.setdefault(op, set()).add(key)


def rush(
    services: Services,
    program: SyntheticProgram,
    pid: ProgramId,
    labels: dict[SectionId, str],
    options: DemoOptions,
    console: Console,
) -> tuple[RushTally, int]:
    """Threads race for the hottest sections with adds, drops and switches (real commands)."""
    app = services.app
    counts = [c for c in services.views.seat_counts(pid) if c.section_id in labels and c.capacity > 0]
    counts.sort(key=lambda c: (-c.taken / c.capacity, str(c.section_id)))
    hot = [SectionId(c.section_id) for c in counts[: max(4, len(counts) // 6)]]
    siblings: dict[UUID, list[SectionId]] = {}
    for c in counts:
        siblings.setdefault(c.subject_id, []).append(SectionId(c.section_id))
    keys = [s.key for s in program.students]
    total = max(options.threads, round(len(keys) * options.operations_per_student))
    tally = RushTally()
    retries_before = app.runner.retries
    done = threading.Semaphore(0)

    def client(number: int, count: int) -> None:
        rng = random.Random(options.seed * 1000 + number)  # noqa: S311 - a simulation, not a secret
        for _ in range(count):
            key = rng.choice(keys)
            one_operation(services, pid, key, rng, hot, siblings, tally)
            done.release()

    share = [total // options.threads + (1 if i < total % options.threads else 0) for i in range(options.threads)]
    workers = [threading.Thread(target=client, args=(i, n), name=f"demo-client-{i}") for i, n in enumerate(share)]
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task(f"FCFS rush on {len(hot)} hot sections", total=total)
        for worker in workers:
            worker.start()
        for _ in range(total):
            done.acquire()
            bar.advance(task)
        for worker in workers:
            worker.join()
    return tally, app.runner.retries - retries_before


def one_operation(
    services: Services,
    pid: ProgramId,
    key: str,
    rng: random.Random,
    hot: list[SectionId],
    siblings: dict[UUID, list[SectionId]],
    tally: RushTally,
) -> None:
    """One student's move: a drop (mostly of a hot seat, so that others race for it), a switch,
    or an add; a full section is then often waited for, a conflict often replaced."""
    app = services.app
    held = app.get_student(pid, key).holding(ENROLLED)
    roll = rng.random()
    movable = [(r, [s for s in siblings.get(r.subject_id, []) if s != r.section_id]) for r in held]
    movable = [(r, others) for r, others in movable if others]
    if roll < 0.25 and held:
        hot_held = [r for r in held if r.section_id in hot]
        target = rng.choice(hot_held if hot_held and rng.random() < 0.8 else held).section_id
        _attempt(tally, "drop", key, lambda ctx: app.drop_section(pid, key, target, ctx))
    elif roll < 0.5 and movable:
        ref, others = rng.choice(movable)
        new = rng.choice(others)
        _attempt(tally, "switch", key, lambda ctx: app.switch_sections(pid, key, ref.section_id, new, ctx))
    else:
        section = rng.choice(hot)
        refused = _attempt(tally, "add", key, lambda ctx: app.add_section(pid, key, section, ctx))
        if refused == "section_full" and rng.random() < 0.5:
            _attempt(tally, "waitlist", key, lambda ctx: app.join_waitlist(pid, key, section, ctx))
        elif refused == "timeslot_conflict" and rng.random() < 0.5:
            replace = lambda ctx: app.add_section(pid, key, section, ctx, replace=True)  # noqa: E731
            _attempt(tally, "replace", key, replace)


def _attempt(tally: RushTally, op: str, key: str, command: Callable[[CommandContext], object]) -> str | None:
    """Run one student command and tally it; returns the refusal's code (None if accepted)."""
    try:
        command(CommandContext(actor=f"student:{key}"))
    except RegistrationError as refusal:
        tally.record(op, f"refused {refusal.code}", key)
        return refusal.code
    tally.record(op, "accepted", key)
    return None
