"""Sample a running server with py-spy and say where its time goes, by layer.

`record(pid, seconds, path)` runs `py-spy record --gil --format raw` (collapsed stacks of the
threads holding the GIL: what keeps the one core busy); `shares(path)` assigns each sample to
the layer of its deepest recognised frame and returns each layer's share of the samples.
py-spy is not a project dependency: `pip install py-spy` (bench/rush.py --profile says so).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

# (layer, substrings of a frame's text), matched from the leaf upwards; the first layer found wins.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging", ("logging/__init__", "pythonjsonlogger", "adapters/logs.py")),
    ("token lookup", ("adapters/auth.py", "token_stores.py", "token_cache.py")),
    ("database driver", ("psycopg/", "psycopg_pool/", "sqlite3")),
    ("eventsourcing library", ("eventsourcing/",)),
    ("command (domain)", ("regledger/domain/",)),
    ("views and positions", ("regledger/projections/", "adapters/views/", "adapters/positions.py")),
    ("metrics", ("prometheus_client/", "adapters/metrics.py")),
    ("pydantic", ("pydantic/", "pydantic_core")),
    ("regledger HTTP layer", ("adapters/http/",)),
    ("threadpool hop", ("anyio/", "concurrent/futures", "threading.py")),
    ("fastapi/starlette", ("fastapi/", "starlette/")),
    ("HTTP protocol", ("uvicorn/", "httptools", "h11/", "asyncio/", "uvloop")),
)


def record(pid: int, seconds: float, path: Path) -> subprocess.Popen[bytes] | None:
    """Start sampling `pid` for `seconds` into `path`; None (and a note) without py-spy."""
    exe = shutil.which("py-spy")
    if exe is None:
        print("# py-spy not found: pip install py-spy", flush=True)
        return None
    command = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--gil",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(path),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def layer_of(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        for layer, marks in LAYERS:
            if any(mark in frame for mark in marks):
                return layer
    return "other"


def shares(path: Path) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for text in path.read_text().splitlines():
        stack, _, count = text.rpartition(" ")
        if stack and count.isdigit():
            counts[layer_of(stack)] += int(count)
    total = sum(counts.values()) or 1
    return {layer: count / total for layer, count in counts.most_common()}
