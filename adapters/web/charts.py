"""Charts drawn by the server as SVG (matplotlib's object API: no pyplot state, safe in threads).

Series are told apart by fill pattern and line style as well as colour, so a chart reads in
greyscale and for the colour-blind; every page that shows a chart also shows its numbers.
Served as images (`<img>`), so the page's CSP needs no inline style: the SVG's own response
carries a policy that lets its internal `<style>` apply and runs nothing.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from starlette.responses import Response

PALETTE = ("#1d4ed8", "#b45309", "#15803d", "#7e22ce", "#a61b1b")
HATCHES = ("", "//", "..", "xx", "\\\\")
LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)))
MARKERS = ("o", "s", "^", "D", "v")
SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _figure(width: float = 7.5, height: float = 3.6) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    figure.set_layout_engine("tight")
    return figure


def svg(figure: Figure) -> Response:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers=SVG_HEADERS)


def bars(
    title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str
) -> Figure:
    """Grouped bars: one group per category, one patterned bar per series."""
    figure = _figure()
    axes = figure.add_subplot()
    count = max(len(series), 1)
    width = 0.8 / count
    for n, (name, values) in enumerate(series.items()):
        xs = [i - 0.4 + width * (n + 0.5) for i in range(len(categories))]
        axes.bar(
            xs,
            list(values),
            width=width,
            label=name,
            color=PALETTE[n % len(PALETTE)],
            hatch=HATCHES[n % len(HATCHES)],
            edgecolor="black",
            linewidth=0.5,
        )
    axes.set_xticks(range(len(categories)), list(categories))
    _finish(axes, title, xlabel, ylabel, legend=len(series) > 1)
    return figure


def lines(
    title: str,
    xs: Sequence[float] | Sequence[datetime],
    series: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
) -> Figure:
    """Lines over a shared x axis (times or numbers), each with its own dash and marker."""
    figure = _figure()
    axes = figure.add_subplot()
    for n, (name, values) in enumerate(series.items()):
        axes.plot(
            list(xs),  # type: ignore[arg-type]  # matplotlib plots datetimes on a date axis
            list(values),
            label=name,
            color=PALETTE[n % len(PALETTE)],
            linestyle=LINE_STYLES[n % len(LINE_STYLES)],
            marker=MARKERS[n % len(MARKERS)],
            markersize=3,
            linewidth=1.6,
        )
    figure.autofmt_xdate()
    _finish(axes, title, xlabel, ylabel, legend=len(series) > 1)
    return figure


def _finish(axes: Axes, title: str, xlabel: str, ylabel: str, *, legend: bool) -> None:
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(axis="y", alpha=0.3)
    if legend:
        axes.legend()


CHART_CACHE = 64  # rendered charts kept, by what they show: the same data draws the same chart
_charts: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
_charts_lock = threading.Lock()


def cached_svg(key: tuple[object, ...], draw: Callable[[], Figure]) -> Response:
    """The chart `draw` makes, drawn once per key (matplotlib takes ~100 ms a chart): the key
    must name everything the chart shows (a run's id: its recorded stats never change)."""
    with _charts_lock:
        body = _charts.get(key)
        if body is not None:
            _charts.move_to_end(key)
    if body is None:
        body = bytes(svg(draw()).body)
        with _charts_lock:
            _charts[key] = body
            while len(_charts) > CHART_CACHE:
                _charts.popitem(last=False)
    return Response(body, media_type="image/svg+xml", headers=SVG_HEADERS)
