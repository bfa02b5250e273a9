"""`regledger serve`: one process, or N uvicorn worker processes on PostgreSQL.

A worker process builds its own services (connection pool, aggregate cache) from the same
REGLEDGER_* settings; the optimistic-concurrency retry keeps commands correct across
processes, as it does across threads. Several workers beat one process with many threads on
the rush (docs/benchmarks.md): request handling holds the GIL, so one process uses one core.

Workers need a shared store and a projector elsewhere: PostgreSQL with `regledger project`
beside them. SQLite and the in-memory store serve from one process (the in-process projector
must be the only one). With several workers, Prometheus counters are kept per process in a
shared directory and summed at scrape time (`PROMETHEUS_MULTIPROC_DIR`, see metrics.py).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass

from fastapi import FastAPI

from regledger.adapters.bootstrap import build
from regledger.adapters.logs import configure_logging
from regledger.adapters.settings import Settings

OPTIONS_VARIABLE = "REGLEDGER_SERVE_OPTIONS"  # how the parent hands its options to spawned workers
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

logger = logging.getLogger("regledger.http")


@dataclass(frozen=True)
class WorkerOptions:
    follow: bool | None
    wait_for_database: float
    log_level: str
    log_format: str | None


def default_workers(settings: Settings, follow: bool | None) -> int:
    """The core count on PostgreSQL with the projector elsewhere; else one process."""
    if settings.store != "postgres" or follow:
        return 1
    return os.cpu_count() or 1


def refusal(settings: Settings, follow: bool | None, workers: int) -> str | None:
    """Why `workers` processes cannot serve these settings, or None."""
    if workers <= 1:
        return None
    if settings.store != "postgres":
        return f"--workers {workers} needs PostgreSQL: the {settings.store} store is served by one process"
    if follow:
        return "--workers with --follow would run one projector per worker; run `regledger project` beside them"
    return None


def tune_collector() -> None:
    """Start-up objects (modules, the app, cached aggregates) are never garbage: keep the collector
    off them, and collect young objects less often. A Splash program's whole section list had a
    p99 of ~145 ms from full collections, ~55 ms with this (docs/benchmarks.md, catalogue reads)."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def prepare_workers(options: WorkerOptions) -> None:
    """The environment the spawned workers read: their options and the metrics directory."""
    os.environ[OPTIONS_VARIABLE] = json.dumps(asdict(options))
    if not os.environ.get(MULTIPROCESS_VARIABLE):
        os.environ[MULTIPROCESS_VARIABLE] = tempfile.mkdtemp(prefix="regledger-metrics-")


def worker_app() -> FastAPI:
    """uvicorn's app factory in each worker process (`--workers N`)."""
    from regledger.adapters.http.app import create_app

    options = WorkerOptions(**json.loads(os.environ[OPTIONS_VARIABLE]))
    configure_logging(options.log_format, level=options.log_level)
    services = build(Settings(), follow=options.follow, wait_for_database=options.wait_for_database)
    app = create_app(services)
    app.state.api.owned.append(services)  # closed last, with the app's lifespan
    tune_collector()
    logger.info("worker %d serving", os.getpid())
    return app
