"""`regledger project` as a real process through database outages, simulated without touching
the shared server: its backends terminated, or its connections cut by a TCP proxy the test owns."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from regledger.adapters.following import TRANSIENT
from regledger.adapters.projector import Projector, build_views
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.values import CommandContext
from tests.serving import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
OUTAGE = "projector interrupted"
RECOVERED = "projector recovered"


def _load_history() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("fault_history", ROOT / "tests" / "projections" / "history.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Proxy:
    """A TCP proxy to PostgreSQL: `cut()` drops its connections and refuses new ones (nothing
    listens on its port), `open()` listens again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port again
        server.settimeout(0.05)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while self._server is server:
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class Process:
    """A `regledger` process whose output (stdout and stderr) is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.popen = subprocess.Popen(
            [str(BIN / "regledger"), *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.popen.poll() is None, f"exited {self.popen.returncode} while waiting for {what}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.output}"
            time.sleep(0.02)

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._reader.join(timeout=10)
        return self.popen.returncode


def _env(settings: Settings, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLEDGER_")}
    env.update(
        {
            "REGLEDGER_STORE": "postgres",
            "REGLEDGER_DATABASE_URL": f"postgresql://{settings.postgres_user}@{settings.postgres_host}:"
            f"{port or settings.postgres_port}/{settings.postgres_db}",
            "REGLEDGER_POSTGRES_SCHEMA": settings.postgres_schema,
            "REGLEDGER_POSTGRES_POOL_SIZE": "2",
            "REGLEDGER_POSTGRES_MAX_OVERFLOW": "2",
        }
    )
    return env


@pytest.fixture
def world(postgres_settings: Settings, make_app: Any) -> Iterator[tuple[Registration, dict[str, Any], Any]]:
    """(app, seeded history, views) on the test's schema, reached directly (not through a proxy)."""
    app = make_app(postgres_settings, Registration)
    info = _load_history().seed_history(app, students=6, subjects=3, chunk=3)
    views = build_views(postgres_settings)
    try:
        yield app, info, views
    finally:
        views.close()


def _write(app: Registration, info: dict[str, Any], key: str) -> int:
    pid = info["program_id"]
    section = info["section_ids"][len(key) % len(info["section_ids"])]
    _retried(lambda c: app.submit_profile(pid, key, key, 2030, {}, c))
    return int(_retried(lambda c: app.add_section(pid, key, section, c, "Applied")).position)


def _retried(command: Callable[[CommandContext], Any]) -> Any:
    """Run a command, again if it failed on a pooled connection that was terminated (the command
    path's concern, not the projector's); its command id makes running it again safe."""
    context = CommandContext(actor="tester")
    for _ in range(4):
        with contextlib.suppress(*TRANSIENT):
            return command(context)
    return command(context)


def _terminate(postgres_server: Any) -> int:
    with postgres_server.connect() as admin:
        return len(
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchall()
        )


def test_project_outlives_its_backends_terminated_again_and_again(
    postgres_settings: Settings, postgres_server: Any, world: Any, tmp_path: Path
) -> None:
    app, info, views = world
    project = Process(["project"], _env(postgres_settings), tmp_path)
    try:
        head = app.recorder.max_notification_id()
        project.wait_for(lambda: views.position() >= head, "the first catch-up")
        # About 3 s of trouble: every connection is terminated again within 0.1 s, while events
        # keep coming (those whose command fails on a terminated connection do not matter here).
        killed, started, n = 0, time.monotonic(), 0
        while time.monotonic() - started < 3:
            killed += _terminate(postgres_server)
            with contextlib.suppress(*TRANSIENT):
                _write(app, info, f"during-{n}")
            n += 1
            time.sleep(0.1)
        assert killed >= 3
        recovered = time.monotonic()
        position = _write(app, info, "after-the-outage")
        project.wait_for(lambda: views.position() >= position, "the write after the outage")
        print(f"projected {time.monotonic() - recovered:.2f} s after the outage ended ({killed} backends killed)")
        assert project.popen.poll() is None
        print(f"{project.count(OUTAGE)} outage(s) logged")
        assert project.count(OUTAGE) == project.count(RECOVERED)  # each one ended
    finally:
        assert project.stop() == 0, project.output
    assert "Traceback" not in project.output, project.output
    rebuilt = build_views(postgres_settings, prefix="rb_")
    try:
        Projector(app, rebuilt).rebuild()
        assert rebuilt.dump() == views.dump()
    finally:
        rebuilt.close()


def test_project_waits_for_the_database_and_rides_out_a_cut(
    postgres_settings: Settings, world: Any, tmp_path: Path
) -> None:
    app, info, views = world
    proxy = Proxy(postgres_settings.postgres_host, postgres_settings.postgres_port)
    project = Process(["project"], _env(postgres_settings, proxy.port), tmp_path)
    try:
        waiting = f"database not reachable at {postgres_settings.postgres_host}:{proxy.port}, retrying in"
        project.wait_for(lambda: project.count(waiting) > 0, "the waiting line")
        time.sleep(2)  # it keeps waiting
        assert project.popen.poll() is None, project.output
        assert views.position() == 0
        proxy.open()
        head = app.recorder.max_notification_id()
        project.wait_for(lambda: views.position() >= head, "the catch-up once the database is reachable")
        position = _write(app, info, "before-the-cut")
        project.wait_for(lambda: views.position() >= position, "following")
        # An outage while it follows: its connections are cut and new ones refused for 3 s.
        proxy.cut()
        project.wait_for(lambda: project.count(OUTAGE) > 0, "the outage warning")
        position = _write(app, info, "during-the-cut")  # the app writes directly, not through the proxy
        time.sleep(3)
        assert views.position() < position
        proxy.open()
        restored = time.monotonic()
        project.wait_for(lambda: views.position() >= position, "the write made during the cut")
        print(f"projected {time.monotonic() - restored:.2f} s after the connection was restored")
        project.wait_for(lambda: project.count(RECOVERED) > 0, "the recovery line")
        position = _write(app, info, "after-the-cut")
        project.wait_for(lambda: views.position() >= position, "following after the cut")
        assert project.popen.poll() is None
        # One line when the outage began and one when it ended, not one per retry.
        assert project.count(OUTAGE) == 1, project.output
        assert project.count(RECOVERED) == 1, project.output
        assert re.search(r"recovered after an outage of \d+\.\d s \(\d+ retries\)", project.output)
    finally:
        code = project.stop()
        proxy.cut()
    assert code == 0, project.output
    assert "Traceback" not in project.output, project.output


def test_project_gives_up_waiting_with_one_line(postgres_settings: Settings, tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "regledger"), "project", "--wait-for-database", "1"],
        env=_env(postgres_settings, closed),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert time.monotonic() - started < 60
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"database not reachable at {postgres_settings.postgres_host}:{closed} after" in done.stderr
