"""Stages B (repair) and C (rescue) of the `lsf-repair/1` lottery.

Repair moves a seat from a better-served holder to a worse-served student who asked for it at
least as strongly, then refills the holder. It runs twice:

* B1 measures students by priority seats (`prio`), considers only priority requests, and may
  take any seat held at a request no stronger than the student's;
* B2 measures students by seats (`cnt`), considers every request, and takes only seats held at
  interest level (a star), so priority seats never move in B2.

A pass visits students by (metric, uniform draw) and stops at the first student whose metric
plus 2 exceeds the current maximum; a student makes at most one move a pass. Passes repeat until
one moves nothing, at most `MAX_REPAIR_PASSES` times.

The fast path skips a student when a vectorised check at the start of the pass found no move
for them and nothing they depend on has changed since (their own seats, or the seats, holders
or holders' metrics of a section they want). Skipped students would have found no move, and no
draw is made for a student without a move, so both paths make the same draws and the same moves
(`tests/lottery/test_lsf_repair_properties.py` checks this).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from regledger.domain.lottery._arrays import BoolArray, IntArray
    from regledger.domain.lottery._lsf_state import LsfState

MAX_REPAIR_PASSES = 30


@dataclass(frozen=True)
class Phase:
    """One repair stage: which requests count, which metric, which seats may move."""

    by_priority: bool  # B1: metric = priority seats, requests at a priority level only

    def metric(self, state: LsfState) -> IntArray:
        return state.prio if self.by_priority else state.cnt

    def high(self, state: LsfState) -> int:
        return state.levels if self.by_priority else state.levels + 1


PRIORITY_REPAIR = Phase(by_priority=True)
SEAT_REPAIR = Phase(by_priority=False)


def pick(rng: np.random.Generator, tied: IntArray) -> int:
    """One of the sorted `tied` indices, uniformly; a draw is made only when there is a choice."""
    if tied.size == 1:
        return int(tied[0])
    return int(tied[min(int(rng.random() * tied.size), tied.size - 1)])


def repair(state: LsfState, rng: np.random.Generator, phase: Phase, *, fast: bool) -> int:
    """Run repair passes until one moves nothing; returns the number of passes run."""
    high = phase.high(state)
    wants = state.wants if high > state.levels else state.wishes(high)
    pairs = state.pairs(high)[:2] if fast else None
    wanters = state.wanters(high) if fast else None
    for done in range(1, MAX_REPAIR_PASSES + 1):
        if not _repair_pass(state, rng, phase, wants, pairs, wanters):
            return done
    return MAX_REPAIR_PASSES


def _repair_pass(
    state: LsfState,
    rng: np.random.Generator,
    phase: Phase,
    wants: list[IntArray],
    pairs: tuple[IntArray, IntArray] | None,
    wanters: list[IntArray] | None,
) -> bool:
    metric = phase.metric(state)
    draws = rng.random(metric.size)
    order = np.lexsort((draws, metric))
    top = int(metric.max()) if metric.size else 0
    maybe = _potential(state, phase, metric, pairs) if pairs is not None else None
    start = metric.copy()
    dirty = np.zeros(metric.size, dtype=bool)
    moved = False
    for student in order.tolist():
        if metric[student] + 2 > top:
            break
        if maybe is not None and not maybe[student] and not dirty[student]:
            continue
        move = find_move(state, rng, phase, student, wants[student])
        if move is None:
            continue
        section, holder = move
        state.remove(holder, section)
        state.add(student, section)
        refilled = state.refill(holder)
        moved = True
        top = int(metric.max())
        if wanters is not None:
            _mark(state, metric, start, dirty, wanters, student, holder, refilled)
    return moved


def _mark(
    state: LsfState,
    metric: IntArray,
    start: IntArray,
    dirty: BoolArray,
    wanters: list[IntArray],
    student: int,
    holder: int,
    refilled: int | None,
) -> None:
    """Mark the students a move may have given a move to (the fast path rechecks only those).

    Students later in the pass started at a metric >= the mover's start, and a holder must
    exceed them by 2, so the mover (now at most its start + 1) can only matter if it rose
    higher; the holder only if it rose above its start; a refilled section only if now full.
    """
    dirty[holder] = True
    for who, limit in ((student, start[student] + 1), (holder, start[holder])):
        if metric[who] > limit:
            for touched in state.held_by(who).tolist():
                dirty[wanters[touched]] = True
    if refilled is not None and state.seats[refilled] >= state.arrays.capacity[refilled]:
        dirty[wanters[refilled]] = True


def find_move(
    state: LsfState, rng: np.random.Generator, phase: Phase, student: int, wanted: IntArray
) -> tuple[int, int] | None:
    """The (section, holder) the student takes a seat from in this phase, if any."""
    if not wanted.size:
        return None
    sections = wanted[state.full(wanted)]
    if not sections.size:
        return None
    sections = sections[state.able(student, sections)]
    if not sections.size:
        return None
    metric = phase.metric(state)
    holders = state.holders[sections]
    present = holders >= 0
    safe = np.where(present, holders, 0)
    held_at = state.strength[safe, sections[:, np.newaxis]]
    ok = present & (metric[safe] >= metric[student] + 2)
    if phase.by_priority:
        ok &= held_at >= state.strength[student, sections][:, np.newaxis]
    else:
        ok &= held_at == state.levels + 1
    rows = np.flatnonzero(ok.any(axis=1))
    if not rows.size:
        return None
    row = int(rows[0])
    candidates = np.sort(holders[row][ok[row]])
    scores = metric[candidates]
    return int(sections[row]), pick(rng, candidates[scores == scores.max()])


def _potential(state: LsfState, phase: Phase, metric: IntArray, pairs: tuple[IntArray, IntArray]) -> BoolArray:
    """Per student: might a move exist now? (True whenever `find_move` could find one.)"""
    students, sections = pairs
    full = state.full(sections)
    students, sections = students[full], sections[full]
    ok = _may_grow(state)[students]
    ok &= ~state.subjects_taken[students, state.arrays.subject[sections]]
    ok &= state.grade_ok[students, sections]
    busy = np.packbits(state.occupied, axis=1)
    needs = np.packbits(state.must_free, axis=1)
    ok &= ~(busy[students] & needs[sections]).any(axis=1)
    best = _best_holder_metric(state, phase, metric)
    threshold = state.strength[students, sections] if phase.by_priority else np.zeros(sections.size, dtype=np.int64)
    ok &= best[sections, threshold] >= metric[students] + 2
    return np.bincount(students[ok], minlength=metric.size) > 0


def _may_grow(state: LsfState) -> BoolArray:
    params = state.params
    grow = np.ones(state.cnt.size, dtype=bool)
    if params.max_sections:
        grow &= state.cnt < params.max_sections
    if params.max_timeslots:
        grow &= state.filled < params.max_timeslots
    if state.program_cap and state.enrolled >= state.program_cap:
        grow &= state.cnt > 0
    return grow


def _best_holder_metric(state: LsfState, phase: Phase, metric: IntArray) -> IntArray:
    """best[j, L]: the highest metric among j's holders who may give up their seat to a request
    of strength L (B1: held at strength >= L; B2: held at interest level, any L)."""
    holders, sections = state.seat_list()
    held_at = state.strength[holders, sections]
    width = state.levels + 2
    best = np.full((state.seats.size, width), -1, dtype=np.int64)
    if phase.by_priority:
        np.maximum.at(best, (sections, held_at), metric[holders])
        return np.maximum.accumulate(best[:, ::-1], axis=1)[:, ::-1]
    star = held_at == state.levels + 1
    column = np.full(state.seats.size, -1, dtype=np.int64)
    np.maximum.at(column, sections[star], metric[holders[star]])
    best[:] = column[:, np.newaxis]
    return best


def rescue(state: LsfState, rng: np.random.Generator) -> None:
    """Seat students still at zero: a free wish if any, else a seat from a holder of 2 or more."""
    hopeful = [
        s
        for s in np.flatnonzero(state.cnt == 0).tolist()
        if state.wants[s].size and state.able(s, state.wants[s]).any()
    ]
    draws = rng.random(len(hopeful))
    for index in np.argsort(draws, kind="stable").tolist():
        _rescue_one(state, rng, hopeful[index])


def _rescue_one(state: LsfState, rng: np.random.Generator, student: int) -> None:
    wanted = state.wants[student]
    sections = wanted[state.able(student, wanted)]
    if not sections.size:
        return
    free = sections[~state.full(sections)]
    if free.size:
        state.add(student, int(free[0]))
        return
    holders = state.holders[sections]
    present = holders >= 0
    safe = np.where(present, holders, 0)
    ok = present & (state.cnt[safe] >= 2)
    ok &= state.strength[safe, sections[:, np.newaxis]] >= state.strength[student, sections][:, np.newaxis]
    seats = np.where(ok, state.cnt[safe], -1)
    most = int(seats.max())
    if most < 2:
        return
    row = int(np.flatnonzero((seats == most).any(axis=1))[0])
    holder = pick(rng, np.sort(holders[row][seats[row] == most]))
    section = int(sections[row])
    state.remove(holder, section)
    state.add(student, section)
    state.refill(holder)
