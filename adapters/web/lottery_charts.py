"""A lottery run's figures as chart data and SVG charts, from the stats the run recorded.

The same functions give the numbers the pages print in tables beside each chart, so a chart
and its table never disagree. Nothing here recomputes a run: `app.lottery_stats` reads the
stats the start command stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from regledger.adapters.web.charts import bars
from regledger.domain.lottery.stats import LotteryStats


@dataclass(frozen=True)
class Series:
    """A chart's numbers: one row per category, one column per named series."""

    categories: tuple[str, ...]
    series: Mapping[str, Sequence[float]]

    def rows(self) -> list[tuple[str, list[float]]]:
        names = list(self.series)
        return [(c, [self.series[n][i] for n in names]) for i, c in enumerate(self.categories)]


def classes_per_student(runs: Mapping[str, LotteryStats]) -> Series:
    """Students by how many timeslots their seats fill (a class per timeslot), one series per run."""
    counts = sorted({n for stats in runs.values() for n in stats.timeslots_filled} | {0})
    return Series(
        tuple(str(n) for n in counts),
        {name: [float(stats.timeslots_filled.get(n, 0)) for n in counts] for name, stats in runs.items()},
    )


def priority_grants(stats: LotteryStats) -> Series:
    """Per level (and stars): wishes requested and granted."""
    levels = [lv.title for lv in stats.levels] + ["Stars (interest)"]
    requested = [float(lv.requested) for lv in stats.levels] + [float(stats.interest_requested)]
    granted = [float(lv.assigned) for lv in stats.levels] + [float(stats.interest_assigned)]
    return Series(tuple(levels), {"Requested": requested, "Granted": granted})


def seats_per_level(stats: LotteryStats) -> Series:
    """Per level: how many students got 0, 1, 2... seats at it (how evenly a level was shared)."""
    counts = sorted({n for lv in stats.levels for n in lv.histogram} | {0})
    return Series(
        tuple(str(n) for n in counts),
        {lv.title: [float(lv.histogram.get(n, 0)) for n in counts] for lv in stats.levels},
    )


def fairness(stats: LotteryStats) -> list[tuple[str, str, str]]:
    """(figure, value, what it means) rows."""

    def num(value: float | None, places: int = 3) -> str:
        return "n/a" if value is None else f"{value:.{places}f}"

    return [
        ("Students with no class", str(stats.students_with_zero_classes), "lottery students left with no seat"),
        (
            "Classes per student, p10",
            "n/a" if stats.p10_classes is None else str(stats.p10_classes),
            "a tenth hold at most this many",
        ),
        ("Worst decile: mean classes", num(stats.worst_decile_classes, 2), "the worst-served tenth's mean seats"),
        (
            "Worst decile: mean priority classes",
            num(stats.worst_decile_priority_classes, 2),
            "their mean seats at a priority level",
        ),
        ("Priority Gini", num(stats.priority_gini), "0 = priority seats shared evenly, 1 = all to one"),
        ("Utility Gini", num(stats.utility_gini), "the same over each student's utility"),
        ("Overall utility", num(stats.overall_utility), "the reference's weighted utility: higher is better"),
        (
            "Star-only at zero (known hole)",
            _count(stats.known_hole_students),
            "students whose starred sections all went to priority 1",
        ),
    ]


def _count(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _figure(title: str, data: Series, *, xlabel: str, ylabel: str) -> Figure:
    return bars(title, data.categories, data.series, xlabel=xlabel, ylabel=ylabel)


def classes_chart(runs: Mapping[str, LotteryStats]) -> Figure:
    title = "Classes per student" + (" by run" if len(runs) > 1 else "")
    return _figure(title, classes_per_student(runs), xlabel="Timeslots filled", ylabel="Students")


def priorities_chart(stats: LotteryStats) -> Figure:
    return _figure("Wishes requested and granted", priority_grants(stats), xlabel="Level", ylabel="Wishes")


def levels_chart(stats: LotteryStats) -> Figure:
    return _figure(
        "Seats granted per student at each level",
        seats_per_level(stats),
        xlabel="Seats at the level",
        ylabel="Students",
    )
