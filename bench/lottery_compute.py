"""Time the lottery at full Splash scale; print JSON lines {name, value, unit, baseline, ratio}.

The baseline is a plain-Python greedy fill of the same input (no weights, no numpy), so the
ratio says what the vectorised weighted lottery costs relative to the simplest possible pass.
"""

from __future__ import annotations

import json
import statistics
import time
from functools import partial
from typing import TYPE_CHECKING

from regledger.adapters.simulation.synthetic import generate_program, to_lottery_input
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.model import LotteryParameters

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from regledger.domain.lottery.model import LotteryInput

RUNS = 5


def greedy(inp: LotteryInput) -> int:
    sections = {s.id: s for s in inp.sections if s.timeslot_ids and not s.is_lunch}
    seats: dict[UUID, int] = dict.fromkeys(sections, 0)
    busy: dict[UUID, set[UUID]] = {s.id: set() for s in inp.students}
    done: dict[UUID, set[UUID]] = {s.id: set() for s in inp.students}
    count = 0
    for student in sorted(inp.students, key=lambda s: s.id):
        for level in (*student.priorities, student.interested):
            for sid in sorted(level & sections.keys()):
                s = sections[sid]
                own = set(s.timeslot_ids)
                if (
                    seats[sid] < s.capacity
                    and not own & busy[student.id]
                    and (s.subject_id not in done[student.id])
                    and s.grade_min <= student.grade <= s.grade_max
                ):
                    seats[sid] += 1
                    busy[student.id] |= own
                    done[student.id].add(s.subject_id)
                    count += 1
    return count


def median_seconds(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    inp = to_lottery_input(generate_program(0))
    baseline = median_seconds(lambda: greedy(inp))
    for name, params in (
        ("lottery_compute_full_scale", LotteryParameters()),
        ("lottery_compute_full_scale_fill_low", LotteryParameters(fill_low_priorities=True)),
    ):
        value = median_seconds(partial(compute_assignment, inp, params, 0))
        line = {
            "name": name,
            "value": round(value, 4),
            "unit": "s",
            "baseline": round(baseline, 4),
            "ratio": round(value / baseline, 3),
        }
        print(json.dumps(line))


if __name__ == "__main__":
    main()
