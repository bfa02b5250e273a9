"""ESP's lottery against lsf-repair/1 at Splash scale: fairness figures and compute time.

Runs both algorithms on generator seeds 0-2 x lottery seeds 11-13 (3,000 students x 700
sections x 12 timeslots) and prints JSON lines {name, value, unit, baseline, ratio}, each the
mean over the 9 runs; an lsf-repair line's baseline is ESP's figure and its ratio lsf / ESP.
`--chart PATH` also writes a PNG of the classes-per-student distributions of the two.

    python bench/lottery_fairness.py [--chart docs/lottery-fairness.png] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from regledger.adapters.simulation.synthetic import generate_program, to_lottery_input
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.lsf_repair import compute_lsf_repair
from regledger.domain.lottery.model import LotteryParameters
from regledger.domain.lottery.stats import compute_stats

if TYPE_CHECKING:
    from collections.abc import Callable

    from regledger.domain.lottery.model import LotteryInput, LotteryResult

ALGORITHMS: dict[str, Callable[[LotteryInput, LotteryParameters, int], LotteryResult]] = {
    "esp": compute_assignment,
    "lsf": compute_lsf_repair,
}
NAMES = {"esp": "esp-weighted", "lsf": "lsf-repair"}
PROGRAM_SEEDS = (0, 1, 2)
LOTTERY_SEEDS = (11, 12, 13)
FIGURES = (
    ("p1_granted", "%"),
    ("worst_decile_classes", "classes"),
    ("worst_decile_priority_classes", "classes"),
    ("zero_class_students", "students"),
    ("gini", "gini"),
    ("compute_s", "s"),
)


def line(name: str, value: float, unit: str, baseline: float | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": None if not baseline else round(value / baseline, 4),
    }


def measure(inp: LotteryInput, algorithm: str, seed: int) -> tuple[dict[str, float], list[int]]:
    params = LotteryParameters()
    started = time.perf_counter()
    result = ALGORITHMS[algorithm](inp, params, seed)
    elapsed = time.perf_counter() - started
    stats = compute_stats(inp, params, result)
    assert stats.levels[0].ratio is not None
    assert stats.worst_decile_classes is not None
    assert stats.worst_decile_priority_classes is not None
    assert stats.utility_gini is not None
    figures = {
        "p1_granted": 100 * stats.levels[0].ratio,
        "worst_decile_classes": stats.worst_decile_classes,
        "worst_decile_priority_classes": stats.worst_decile_priority_classes,
        "zero_class_students": float(stats.students_with_zero_classes),
        "gini": stats.utility_gini,
        "compute_s": elapsed,
    }
    held = Counter(a.student_id for a in result.assignments)
    return figures, [held[s.id] for s in inp.students]


def run(program_seeds: tuple[int, ...], lottery_seeds: tuple[int, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    runs: dict[str, list[dict[str, float]]] = {a: [] for a in ALGORITHMS}
    classes: dict[str, list[int]] = {a: [] for a in ALGORITHMS}
    for program_seed in program_seeds:
        inp = to_lottery_input(generate_program(program_seed))
        for seed in lottery_seeds:
            for algorithm in ALGORITHMS:
                figures, per_student = measure(inp, algorithm, seed)
                runs[algorithm].append(figures)
                classes[algorithm].extend(per_student)
    means = {a: {key: statistics.fmean(r[key] for r in runs[a]) for key, _ in FIGURES} for a in ALGORITHMS}
    return means, classes


def report(means: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    esp, lsf = means["esp"], means["lsf"]
    lines = [line(f"lottery.{NAMES['esp']}.{key}", esp[key], unit) for key, unit in FIGURES]
    lines += [line(f"lottery.{NAMES['lsf']}.{key}", lsf[key], unit, esp[key]) for key, unit in FIGURES]
    lines += [
        line("lottery.fair_vs_esp.p1_delta", lsf["p1_granted"] - esp["p1_granted"], "points", esp["p1_granted"]),
        line(
            "lottery.fair_vs_esp.worst_decile_gain",
            lsf["worst_decile_classes"] - esp["worst_decile_classes"],
            "classes",
            esp["worst_decile_classes"],
        ),
        line(
            "lottery.fair_vs_esp.worst_decile_priority_gain",
            lsf["worst_decile_priority_classes"] - esp["worst_decile_priority_classes"],
            "classes",
            esp["worst_decile_priority_classes"],
        ),
    ]
    return lines


def chart(path: str, classes: dict[str, list[int]], runs: int) -> None:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    top = max(max(v) for v in classes.values())
    xs = list(range(top + 1))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    # Told apart by fill pattern as well as colour (readable in greyscale and by the colour-blind).
    labels = (("esp", "esp-weighted (ESP)", "", "#4c72b0"), ("lsf", "lsf-repair", "//", "#dd8452"))
    for offset, (algorithm, label, hatch, colour) in zip((-0.2, 0.2), labels, strict=True):
        counts = Counter(classes[algorithm])
        share = [100 * counts[x] / len(classes[algorithm]) for x in xs]
        bars = [x + offset for x in xs]
        ax.bar(bars, share, width=0.4, label=label, hatch=hatch, color=colour, edgecolor="black", linewidth=0.5)
    ax.set_xticks(xs)
    ax.set_xlabel("classes held by a student")
    ax.set_ylabel("% of students")
    ax.set_title(f"Classes per student, Splash-scale synthetic programs ({runs} lotteries each)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chart", metavar="PATH", help="write a PNG of classes-per-student distributions")
    parser.add_argument("--quick", action="store_true", help="one program and one seed (a smoke run)")
    args = parser.parse_args()
    program_seeds, lottery_seeds = ((0,), (11,)) if args.quick else (PROGRAM_SEEDS, LOTTERY_SEEDS)
    means, classes = run(program_seeds, lottery_seeds)
    for figure in report(means):
        print(json.dumps(figure))
    if args.chart:
        chart(args.chart, classes, len(program_seeds) * len(lottery_seeds))


if __name__ == "__main__":
    main()
