"""The class-change lottery (ESP's `ClassChangeController`, docs/esp-reference.md §4.7), pure.

* Students with requests take part. A section's seats for requesters are its capacity minus
  its seats held, plus the seats of requesters holding it who asked for something overlapping
  it (optimistic release); a requester who asked for nothing overlapping a section they hold
  keeps it (pre-committed).
* Levels 1..N, then "no priority"; within a level, sections by ascending score (requesters
  minus seats), id order on ties. A section admits the level's requesters who are free in all
  its timeslots (sections they hold that overlap it are given up), hold no other section of
  its class, and keep a free lunch slot on every day they had one; over-subscription is a
  UNIFORM draw (no weights) from one PCG64 stream seeded by the run's seed, using uniform
  doubles only, so the result is byte-identical on any machine.
* A section with a waitlist offers no seats to requesters (its queue is ahead of them); a
  closed, cancelled, unaccepted or lunch section offers none either.
* Push back, until stable: a student who is worse off than before (see `worse_off`) loses the
  gains that caused it and gets the sections they gave up back; a section then over capacity
  (a section that gained anyone holds at most its capacity) loses a request-winner, the one
  whose own given-up section has the most slack, random among ties, who goes back to their
  own sections the same way.

No student ends worse than their schedule at the run's position; `problems` checks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from regledger.domain.errors import InvalidInputError
from regledger.domain.lottery.class_change_model import NO_PRIORITY, ClassChangeResult, Move

if TYPE_CHECKING:
    from datetime import date

    from regledger.domain.lottery.class_change_model import ClassChangeInput

NO_SLACK_LIMIT = 1 << 30  # the slack of a winner who gave nothing up for the seat


def compute_class_change(inp: ClassChangeInput, seed: int) -> ClassChangeResult:
    """Assign requests; the same input and seed always give the same result."""
    inp.validate()
    if isinstance(seed, bool) or seed < 0:
        raise InvalidInputError("seed must not be negative", seed=seed)
    run = _Run(inp, np.random.Generator(np.random.PCG64(seed)))
    run.fill()
    run.push_back()
    return run.result()


class _Programme:
    """Sections and timeslots as indexes, in canonical order."""

    def __init__(self, inp: ClassChangeInput) -> None:
        timeslots = sorted(inp.timeslots, key=lambda t: (t.start, t.end, t.id))
        slot_index = {t.id: k for k, t in enumerate(timeslots)}
        sections = sorted(inp.sections, key=lambda s: s.id.int)
        self.section_ids = [s.id for s in sections]
        self.index = {s.id: j for j, s in enumerate(sections)}
        self.slots = [frozenset(slot_index[t] for t in s.timeslot_ids) for s in sections]
        self.subject = [s.subject_id for s in sections]
        self.capacity = [s.capacity for s in sections]
        self.enrolled = [s.enrolled for s in sections]
        self.is_lunch = [s.is_lunch for s in sections]
        self.offers = [s.offers_seats and s.waitlisted == 0 and not s.is_lunch for s in sections]
        lunch: dict[date, set[int]] = {}
        for j, section in enumerate(sections):
            if section.is_lunch:
                for k in self.slots[j]:
                    lunch.setdefault(timeslots[k].day, set()).add(k)
        self.lunch_days = [frozenset(ks) for _, ks in sorted(lunch.items())]

    def free_lunch(self, held: set[int] | frozenset[int]) -> list[int]:
        """Free lunch slots per lunch day; a lunch-category section is lunch, not a class."""
        taken: set[int] = set()
        for j in held:
            if not self.is_lunch[j]:
                taken |= self.slots[j]
        return [len(day - taken) for day in self.lunch_days]

    def lunch_kept(self, before: list[int], after: list[int]) -> bool:
        return all(a >= min(1, b) for a, b in zip(after, before, strict=True))


def worse_off(prog: _Programme, original: frozenset[int], final: set[int] | frozenset[int]) -> str | None:
    """Why `final` is worse than `original` for a student, or None.

    Worse means: a timeslot where they held a section is now empty, or a day on which they had
    a free lunch slot now has none. (Holding fewer sections is not worse when the new ones
    cover the same timeslots: one requested long section may replace two short ones.)"""
    covered: set[int] = set()
    for j in final:
        covered |= prog.slots[j]
    for j in original:
        if not prog.slots[j] <= covered:
            return "timeslot_lost"
    if not prog.lunch_kept(prog.free_lunch(original), prog.free_lunch(final)):
        return "lunch_lost"
    return None


class _Run:
    def __init__(self, inp: ClassChangeInput, rng: np.random.Generator) -> None:
        self.prog = prog = _Programme(inp)
        self.rng = rng
        self.limit_levels = inp.priority_limit
        students = sorted(inp.students, key=lambda s: s.id.int)
        self.student_ids = [s.id for s in students]
        self.original = [frozenset(prog.index[x] for x in s.enrolled) for s in students]
        self.requests = [{prog.index[x]: lv for x, lv in s.requests} for s in students]
        self.held = [set(o) for o in self.original]
        self.grants: list[dict[int, int]] = [{} for _ in students]
        self.lunch_before = [prog.free_lunch(o) for o in self.original]
        n = len(prog.section_ids)
        self.occupied = list(prog.enrolled)
        self.grantees: list[set[int]] = [set() for _ in range(n)]
        released = [0] * n
        for i, original in enumerate(self.original):
            wanted = [prog.slots[j] for j in self.requests[i]]
            for d in original:
                if any(prog.slots[d] & slots for slots in wanted):
                    released[d] += 1
        self.remaining = [c - e + r for c, e, r in zip(prog.capacity, prog.enrolled, released, strict=True)]
        self.kicked = 0
        self.reverted = 0

    # -- filling ----------------------------------------------------------------------------

    def fill(self) -> None:
        prog = self.prog
        n = len(prog.section_ids)
        by_level: dict[int, list[list[int]]] = {}
        demand = [0] * n
        for i, requests in enumerate(self.requests):
            for j, level in requests.items():
                by_level.setdefault(level, [[] for _ in range(n)])[j].append(i)
                demand[j] += 1
        order = sorted(range(n), key=lambda j: (demand[j] - self.remaining[j], prog.section_ids[j].int))
        for level in [*range(1, self.limit_levels + 1), NO_PRIORITY]:
            requesters = by_level.get(level)
            if requesters is None:
                continue
            for j in order:
                if requesters[j] and prog.offers[j] and self.remaining[j] > 0:
                    self._fill_section(j, level, requesters[j])

    def _fill_section(self, j: int, level: int, requesters: list[int]) -> None:
        candidates = [i for i in requesters if self._can_take(i, j)]
        spaces = self.remaining[j]
        if len(candidates) > spaces:
            keys = self.rng.random(len(candidates))
            picked = np.argsort(keys, kind="stable")[:spaces].tolist()
            candidates = sorted(candidates[k] for k in picked)
        for i in candidates:
            self._grant(i, j, level)

    def _can_take(self, i: int, j: int) -> bool:
        prog = self.prog
        held, grants, slots = self.held[i], self.grants[i], prog.slots[j]
        if j in held or j in grants:
            return False
        if any(prog.slots[g] & slots for g in grants):
            return False
        kept = {d for d in held if not prog.slots[d] & slots}
        if any(prog.subject[s] == prog.subject[j] for s in (*kept, *grants)):
            return False
        after = kept | set(grants) | {j}
        return prog.lunch_kept(self.lunch_before[i], prog.free_lunch(after))

    def _grant(self, i: int, j: int, level: int) -> None:
        self.grants[i][j] = level
        self.grantees[j].add(i)
        self.remaining[j] -= 1
        self.occupied[j] += 1
        for d in [d for d in self.held[i] if self.prog.slots[d] & self.prog.slots[j]]:
            self.held[i].discard(d)
            self.occupied[d] -= 1

    # -- pushing back -----------------------------------------------------------------------

    def push_back(self) -> None:
        movers = [i for i in range(len(self.student_ids)) if self.grants[i]]
        while True:
            progressed = False
            for i in movers:
                while (losing := self._violation(i)) is not None:
                    self.reverted += 1
                    for g in sorted(losing):
                        self._ungrant(i, g)
                    self._restore(i)
                    progressed = True
            for j in range(len(self.prog.section_ids)):
                while self.grantees[j] and self.occupied[j] > self.prog.capacity[j]:
                    victim = self._victim(j)
                    self.kicked += 1
                    self._ungrant(victim, j)
                    self._restore(victim)
                    progressed = True
            if not progressed:
                return

    def _violation(self, i: int) -> set[int] | None:
        """The gains to give up so that student i is no worse off (None: not worse off)."""
        prog, grants = self.prog, self.grants[i]
        final = self.held[i] | set(grants)
        why = worse_off(prog, self.original[i], final)
        if why is None:
            return None
        losing: set[int] = set()
        if why == "timeslot_lost":
            covered: set[int] = set()
            for j in final:
                covered |= prog.slots[j]
            for d in self.original[i] - self.held[i]:
                if not prog.slots[d] <= covered:
                    losing |= {g for g in grants if prog.slots[g] & prog.slots[d]}
        else:
            after = prog.free_lunch(final)
            for day, before, now in zip(prog.lunch_days, self.lunch_before[i], after, strict=True):
                if now < min(1, before):
                    losing |= {g for g in grants if prog.slots[g] & day}
        # A given-up section always overlaps a gain and a lost lunch is always taken by one,
        # so `losing` is never empty; reverting everything is the safe answer if it were.
        return losing or set(grants) or None

    def _ungrant(self, i: int, j: int) -> None:
        del self.grants[i][j]
        self.grantees[j].discard(i)
        self.occupied[j] -= 1
        self.remaining[j] += 1

    def _restore(self, i: int) -> None:
        """Give student i back every section they gave up that no remaining gain overlaps."""
        prog = self.prog
        for d in sorted(self.original[i] - self.held[i]):
            if not any(prog.slots[d] & prog.slots[g] for g in self.grants[i]):
                self.held[i].add(d)
                self.occupied[d] += 1

    def _victim(self, j: int) -> int:
        """The winner of a seat in j to send back: most slack in what they gave up for it."""
        prog = self.prog
        slack: dict[int, int] = {}
        for i in sorted(self.grantees[j]):
            gave_up = [d for d in self.original[i] - self.held[i] if prog.slots[d] & prog.slots[j]]
            slack[i] = min((prog.capacity[d] - self.occupied[d] for d in gave_up), default=NO_SLACK_LIMIT)
        best = max(slack.values())
        ties = [i for i, s in slack.items() if s == best]
        return ties[min(int(self.rng.random() * len(ties)), len(ties) - 1)] if len(ties) > 1 else ties[0]

    # -- the result -------------------------------------------------------------------------

    def result(self) -> ClassChangeResult:
        prog = self.prog
        moves: list[Move] = []
        requested: dict[int, int] = dict.fromkeys([*range(1, self.limit_levels + 1), NO_PRIORITY], 0)
        granted = dict(requested)
        unavailable = 0
        for i, student_id in enumerate(self.student_ids):
            for j, level in self.requests[i].items():
                requested[level] += 1
                unavailable += not prog.offers[j]
            for level in self.grants[i].values():
                granted[level] += 1
            added = tuple(sorted(((prog.section_ids[j], lv) for j, lv in self.grants[i].items()), key=_by_id))
            dropped = tuple(sorted((prog.section_ids[d] for d in self.original[i] - self.held[i]), key=_int))
            if added or dropped:
                moves.append(Move(student_id, added, dropped))
        levels = [{"level": level, "requested": requested[level], "granted": granted[level]} for level in requested]
        stats = {
            "students_with_requests": len(self.student_ids),
            "students_changed": len(moves),
            "students_unchanged": len(self.student_ids) - len(moves),
            "seats_moved": sum(len(m.added) for m in moves),
            "seats_released": sum(len(m.dropped) for m in moves),
            "requests": sum(requested.values()),
            "requests_granted": sum(granted.values()),
            "requests_unavailable": unavailable,
            "pushed_back": self.kicked,
            "reverted": self.reverted,
            "levels": levels,
        }
        return ClassChangeResult(tuple(moves), stats)


def _int(section_id: object) -> int:
    return section_id.int  # type: ignore[attr-defined, no-any-return]


def _by_id(item: tuple[object, int]) -> int:
    return _int(item[0])


def problems(inp: ClassChangeInput, result: ClassChangeResult) -> list[str]:
    """Every broken guarantee of a result (empty when it is sound): nobody worse off, no
    section that gained a student over capacity, no two sections of a
    student sharing a timeslot or a class, only requested sections added, waitlisted and
    closed sections given to nobody."""
    prog = _Programme(inp)
    found: list[str] = []
    occupied = list(prog.enrolled)
    gained = [0] * len(prog.section_ids)
    for move in result.moves:
        student = inp.student(move.student_id)
        if student is None:
            found.append(f"{move.student_id}: moved without requests")
            continue
        original = frozenset(prog.index[x] for x in student.enrolled)
        requested = {prog.index[x] for x, _ in student.requests}
        added = {prog.index[x] for x, _ in move.added}
        dropped = {prog.index[x] for x in move.dropped}
        final = (set(original) - dropped) | added
        if not added <= requested or not dropped <= original or added & original:
            found.append(f"{move.student_id}: added an unrequested section or dropped one not held")
        if any(not prog.offers[j] for j in added):
            found.append(f"{move.student_id}: given a seat in a section that offers none")
        if (why := worse_off(prog, original, final)) is not None:
            found.append(f"{move.student_id}: worse off ({why})")
        seen: set[int] = set()
        for j in sorted(final):
            if seen & prog.slots[j]:
                found.append(f"{move.student_id}: timeslot conflict")
            seen |= prog.slots[j]
        if any(prog.subject[j] == prog.subject[k] for j in added for k in final if k != j):
            found.append(f"{move.student_id}: two sections of one class")
        for j in added:
            occupied[j] += 1
            gained[j] += 1
        for j in dropped:
            occupied[j] -= 1
    for j, count in enumerate(occupied):
        if gained[j] and count > prog.capacity[j]:
            found.append(f"section {prog.section_ids[j]}: {count} seats held, capacity {prog.capacity[j]}")
    return found


__all__ = ["compute_class_change", "problems", "worse_off"]
