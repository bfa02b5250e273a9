"""Helpers for tests that run real `regledger` processes: a free port, and waiting for a server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence

import httpx

from regledger.adapters.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    base: str,
    processes: Sequence[subprocess.Popen[bytes]] | Sequence[subprocess.Popen[str]] = (),
    *,
    path: str = "/health",
    timeout: float = 30,
    exited: Callable[[subprocess.Popen[bytes]], str] | None = None,
) -> None:
    """Poll `base + path` until it answers 200; fail at once if one of `processes` exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}{path}", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        for process in processes:
            assert process.poll() is None, exited(process) if exited else "the server exited"
        assert time.monotonic() < deadline, f"the server did not come up in {timeout:.0f} s"
        time.sleep(0.1)


def postgres_env(settings: Settings, port: int | None = None) -> dict[str, str]:
    """The environment of a `regledger` process on `settings`' database (at `port`, e.g. a
    proxy's), without any REGLEDGER_* variable of the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLEDGER_")}
    env.update(
        {
            "REGLEDGER_STORE": "postgres",
            "REGLEDGER_POSTGRES_HOST": settings.postgres_host,
            "REGLEDGER_POSTGRES_PORT": str(port or settings.postgres_port),
            "REGLEDGER_POSTGRES_USER": settings.postgres_user,
            "REGLEDGER_POSTGRES_DB": settings.postgres_db,
            "REGLEDGER_POSTGRES_SCHEMA": settings.postgres_schema,
            "REGLEDGER_POSTGRES_POOL_SIZE": "2",
            "REGLEDGER_POSTGRES_MAX_OVERFLOW": "2",
        }
    )
    return env


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> str:
    """SIGTERM (then SIGKILL after `timeout`) a process started with stdout=PIPE; its output."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    assert process.stdout is not None
    return process.stdout.read().decode(errors="replace")
