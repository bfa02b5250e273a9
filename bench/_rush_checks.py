"""Helpers of bench/rush.py: consistency checks after each step, and the server processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import httpx

from regledger.adapters.bootstrap import Services, build_application
from regledger.adapters.projector import Projector, build_views
from regledger.adapters.settings import Settings

if TYPE_CHECKING:
    from rush import World


# -- checks ---------------------------------------------------------------------------------


def check_aggregates(settings: Settings, world: World) -> tuple[int, int]:
    """(sections over capacity, (student, timeslot) pairs enrolled more than once), from the
    Section aggregates read by a fresh app (no cache)."""
    app = build_application(settings)
    try:
        over = 0
        slots: dict[tuple[Any, Any], int] = {}
        for section_id in world.sections:
            section = app.load_section(section_id)
            over += len(section.enrolled) > section.capacity
            for student in section.enrolled:
                for slot in section.timeslot_ids:
                    slots[(student, slot)] = slots.get((student, slot), 0) + 1
        return over, sum(1 for n in slots.values() if n > 1)
    finally:
        app.close()


def wait_caught_up(services: Services, timeout: float = 60.0) -> bool:
    head = services.app.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout
    while services.views.position() < head:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def check_views(services: Services, world: World) -> int:
    wait_caught_up(services)
    return sum(1 for c in services.views.seat_counts(world.program_id) if c.taken > c.capacity)


def rebuild_identical(services: Services, settings: Settings) -> bool:
    """Replay the log into `rush_rb_` tables and compare them with the live views (their
    tracking rows too, except with a log per program: one row per table there)."""
    if not wait_caught_up(services):
        return False
    rebuilt = build_views(settings, prefix="rush_rb_")
    try:
        Projector(services.app, rebuilt).rebuild()
        skip = {"tracking"} if settings.per_program else set()
        replayed, live = rebuilt.dump(), services.views.dump()
        return all(replayed[table] == live[table] for table in replayed if table not in skip)
    finally:
        rebuilt.close()


# -- processes ------------------------------------------------------------------------------


def env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLEDGER_")}
    env.update(
        REGLEDGER_STORE="postgres",
        REGLEDGER_POSTGRES_HOST=settings.postgres_host,
        REGLEDGER_POSTGRES_PORT=str(settings.postgres_port),
        REGLEDGER_POSTGRES_USER=settings.postgres_user,
        REGLEDGER_POSTGRES_DB=settings.postgres_db,
        REGLEDGER_LOG_LAYOUT=settings.log_layout,
    )
    return env


@contextmanager
def process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def servers(settings: Settings, workers: int) -> Iterator[tuple[list[str], int]]:
    """`regledger serve --workers N` on a free port; yields its base URL (a list of one) and pid."""
    env = env_for(settings)
    with ExitStack() as stack:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [sys.executable, "-m", "regledger", "serve", "--port", str(port), "--log-level", "warning"]
        proc = stack.enter_context(process([*command, "--workers", str(workers)], env))
        bases = [f"http://127.0.0.1:{port}"]
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{bases[0]}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("regledger serve did not start")
            time.sleep(0.2)
        yield bases, proc.pid
