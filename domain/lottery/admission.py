"""The admission lottery (Phase Zero), as a pure function of its input, caps and seed.

Tickets are drawn in a random order made from ONE PCG64 stream seeded by the run's seed: one
double per ticket, in the canonical order of the input (tickets sorted by id), then tickets
sorted by (double, id). A ticket is admitted whole if adding its not-yet-admitted members
keeps every grade bucket at or under its cap; otherwise it is skipped and the draw goes on
(the reference's Phase Zero, §3.3). Caps bound the total admitted per bucket, students
admitted earlier (by another run or an admin) included. Only `Generator.random` is used, so
the order is stable across numpy versions.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from regledger.domain.errors import AdmissionGradeUncovered, InvalidInputError

ALGORITHM = "admission-groups/1"
KIND = "admission"


@dataclass(frozen=True)
class GradeCap:
    low: int
    high: int
    cap: int

    @property
    def label(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"

    def covers(self, grade: int) -> bool:
        return self.low <= grade <= self.high


def parse_caps(raw: dict[str, Any]) -> tuple[GradeCap, ...]:
    """`{"7-8": 100, "9": 40}`: keys a grade or an inclusive range, values caps >= 0; ranges
    must not overlap (the reference refuses a grade covered twice)."""
    if not isinstance(raw, dict) or not raw:
        raise InvalidInputError('Grade caps are required, e.g. {"7-8": 100, "9-12": 200}', grade_caps=raw)
    caps: list[GradeCap] = []
    for key, value in raw.items():
        parts = str(key).split("-")
        try:
            low, high = int(parts[0]), int(parts[-1])
        except ValueError:
            raise InvalidInputError("A grade cap's key is a grade or a range like 7-8", key=key) from None
        if len(parts) > 2 or low > high or low < 0 or high > 20:
            raise InvalidInputError("A grade cap's key is a grade or a range like 7-8", key=key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInputError("A grade cap is an integer >= 0", key=key, value=value)
        caps.append(GradeCap(low, high, value))
    caps.sort(key=lambda c: (c.low, c.high))
    for before, after in itertools.pairwise(caps):
        if after.low <= before.high:
            raise InvalidInputError("Grade cap ranges overlap", first=before.label, second=after.label)
    return tuple(caps)


def caps_as_dict(caps: tuple[GradeCap, ...]) -> dict[str, int]:
    return {c.label: c.cap for c in caps}


@dataclass(frozen=True)
class TicketEntry:
    """A group as the lottery sees it: its ticket id and its members' (key, grade)."""

    ticket_id: str
    members: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class AdmissionInput:
    """Canonical: tickets sorted by id, members by key, `admitted` (keys) sorted."""

    tickets: tuple[TicketEntry, ...]
    admitted: tuple[str, ...]

    def canonical(self) -> list[Any]:
        return [[[t.ticket_id, [list(m) for m in t.members]] for t in self.tickets], list(self.admitted)]

    def digest(self) -> str:
        return _digest(self.canonical())


@dataclass(frozen=True)
class AdmissionResult:
    winners: tuple[str, ...]  # winning ticket ids, in draw order
    admitted: tuple[str, ...]  # student keys this run admits, sorted
    stats: dict[str, Any]

    def digest(self) -> str:
        return _digest([list(self.winners), list(self.admitted)])


def _digest(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def bucket_of(caps: tuple[GradeCap, ...], grade: int) -> int:
    for index, cap in enumerate(caps):
        if cap.covers(grade):
            return index
    return -1


def check_covered(inp: AdmissionInput, caps: tuple[GradeCap, ...]) -> None:
    """Every entrant's grade must fall in one cap's range (the reference refuses to run otherwise)."""
    uncovered = sorted({g for t in inp.tickets for _, g in t.members if bucket_of(caps, g) < 0})
    if uncovered:
        raise AdmissionGradeUncovered(
            "Some entrants' grades are in no grade cap; add caps for them (grade 0: no profile).",
            grades=uncovered,
            caps=caps_as_dict(caps),
        )


def draw_order(inp: AdmissionInput, seed: int) -> list[int]:
    keys = np.random.Generator(np.random.PCG64(seed)).random(len(inp.tickets))
    return sorted(range(len(inp.tickets)), key=lambda i: (float(keys[i]), inp.tickets[i].ticket_id))


def compute_admission(inp: AdmissionInput, caps: tuple[GradeCap, ...], seed: int) -> AdmissionResult:
    """Admit whole tickets in draw order while no bucket goes over its cap."""
    check_covered(inp, caps)
    before = set(inp.admitted)
    grade_of = {k: g for t in inp.tickets for k, g in t.members}
    counts = Counter(bucket_of(caps, grade_of[k]) for k in before if k in grade_of)
    winners: list[str] = []
    admitted: list[str] = []
    skipped = 0
    for index in draw_order(inp, seed):
        ticket = inp.tickets[index]
        new = [(k, g) for k, g in ticket.members if k not in before]
        if not new:
            continue
        adding = Counter(bucket_of(caps, g) for _, g in new)
        if all(counts[b] + n <= caps[b].cap for b, n in adding.items()):
            counts.update(adding)
            winners.append(ticket.ticket_id)
            admitted.extend(k for k, _ in new)
        else:
            skipped += 1
    stats = admission_stats(inp, caps, set(admitted), len(winners), skipped)
    return AdmissionResult(tuple(winners), tuple(sorted(admitted)), stats)


def ratio(part: int, whole: int) -> float | None:
    """A real ratio (the reference floors it to 0 or 100 per cent)."""
    return round(part / whole, 6) if whole else None


def admission_stats(
    inp: AdmissionInput, caps: tuple[GradeCap, ...], won: set[str], winning_tickets: int, skipped: int
) -> dict[str, Any]:
    before = set(inp.admitted)
    entrants: Counter[int] = Counter()
    winners: Counter[int] = Counter()
    earlier: Counter[int] = Counter()
    for ticket in inp.tickets:
        for key, grade in ticket.members:
            entrants[grade] += 1
            winners[grade] += key in won
            earlier[grade] += key in before
    grades = [
        {
            "grade": g,
            "entrants": entrants[g],
            "winners": winners[g],
            "admitted_before": earlier[g],
            "acceptance_rate": ratio(winners[g], entrants[g] - earlier[g]),
        }
        for g in sorted(entrants)
    ]
    buckets = []
    for index, cap in enumerate(caps):
        in_bucket = [g for g in entrants if bucket_of(caps, g) == index]
        before_count = sum(earlier[g] for g in in_bucket)
        buckets.append(
            {
                "grades": cap.label,
                "cap": cap.cap,
                "admitted_before": before_count,
                "admitted_after": before_count + sum(winners[g] for g in in_bucket),
            }
        )
    total = sum(entrants.values())
    new_entrants = total - sum(earlier.values())
    return {
        "tickets": len(inp.tickets),
        "entrants": total,
        "winning_tickets": winning_tickets,
        "skipped_tickets": skipped,
        "winners": len(won),
        "acceptance_rate": ratio(len(won), new_entrants),
        "grades": grades,
        "buckets": buckets,
    }
