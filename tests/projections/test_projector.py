"""The projector: exactly once, read-your-writes, crash recovery and concurrent writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from regledger.adapters.projector import Projector
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.values import CommandContext
from regledger.projections.changes import Batch, fold_batch
from regledger.projections.views import PositionAlreadyApplied

ROOT = Path(__file__).resolve().parents[2]
HISTORY = Path(__file__).with_name("history.py")


def ctx() -> CommandContext:
    return CommandContext(actor="tester")


def read_events(app: Registration, start: int, limit: int) -> list[tuple[int, Any]]:
    page = app.recorder.select_notifications(start, limit, inclusive_of_start=False)
    return [(n.id, app.mapper.to_domain_event(n)) for n in page]


def test_a_batch_is_applied_exactly_once(
    store_settings: Settings, make_app: Any, make_views: Any, history: Any
) -> None:
    app = make_app(store_settings, Registration)
    history.seed_history(app, students=5, subjects=3, chunk=5)
    views = make_views(store_settings)
    first = fold_batch(read_events(app, 0, 40))
    views.apply(first)
    assert views.position() == first.position
    before = views.dump()
    with pytest.raises(PositionAlreadyApplied):
        views.apply(first)  # the same batch again
    lower = Batch(first.position - 1, first.changes[:1], 1)
    with pytest.raises(PositionAlreadyApplied):
        views.apply(lower)  # a lower position
    assert views.dump() == before
    # The rejected batches rolled back whole: the next batch still applies, after them.
    nxt = fold_batch(read_events(app, first.position, 1000))
    views.apply(nxt)
    assert views.position() == app.recorder.max_notification_id()


def read_batches(app: Registration, size: int) -> list[Batch]:
    batches, start = [], 0
    while events := read_events(app, start, size):
        batches.append(fold_batch(events, after=start))
        start = batches[-1].position
    return batches


def test_batches_apply_only_in_log_order_and_each_once(
    store_settings: Settings, make_app: Any, make_views: Any, history: Any
) -> None:
    app = make_app(store_settings, Registration)
    history.seed_history(app, students=5, subjects=3, chunk=5)
    b = read_batches(app, 15)
    assert len(b) >= 4
    views = make_views(store_settings)
    applied: list[int] = []
    twice = views.apply_all([b[0], b[1], b[1], b[2]])
    with pytest.raises(PositionAlreadyApplied):  # the second batch twice
        applied.extend(batch.position for batch in twice)
    assert applied == [b[0].position, b[1].position]
    assert views.position() == b[1].position
    with pytest.raises(PositionAlreadyApplied):  # the fourth batch before the third
        list(views.apply_all([b[3], b[2]]))
    with pytest.raises(PositionAlreadyApplied):  # read after a position never applied
        views.apply(fold_batch(read_events(app, b[2].position + 1, 5), after=b[2].position + 1))
    assert views.position() == b[1].position
    # The refusals wrote nothing: the rest in order gives the tables of a one-by-one replay.
    assert [x.position for x in views.apply_all(b[2:])] == [x.position for x in b[2:]]
    replay = make_views(store_settings, prefix="rv_replay_")
    for batch in b:
        replay.apply(batch)
    assert views.dump() == replay.dump()


def test_read_your_writes(store_settings: Settings, make_app: Any, make_views: Any, history: Any) -> None:
    app = make_app(store_settings, Registration)
    info = history.seed_history(app, students=3, subjects=2, chunk=3)
    views = make_views(store_settings)
    projector = Projector.for_settings(store_settings, app, views=views)
    pid = info["program_id"]
    with projector:
        for i in range(5):
            key = f"new{i}"
            app.submit_profile(pid, key, key, 2030, {}, ctx())
            section = info["section_ids"][i % len(info["section_ids"])]
            result = app.add_section(pid, key, section, ctx(), "Applied")
            projector.wait(result.position, timeout=5)
            student = app.get_student(pid, key).id
            assert [e.verb for e in views.sections(student)] == ["Applied"]
            assert student in views.students(section, ("Applied",))
    with pytest.raises(TimeoutError):
        projector.wait(result.position + 10**6, timeout=0.01)


def subprocess_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLEDGER_")}
    env.update(
        {
            "REGLEDGER_STORE": "postgres",
            "REGLEDGER_POSTGRES_HOST": settings.postgres_host,
            "REGLEDGER_POSTGRES_PORT": str(settings.postgres_port),
            "REGLEDGER_POSTGRES_USER": settings.postgres_user,
            "REGLEDGER_POSTGRES_DB": settings.postgres_db,
            "REGLEDGER_POSTGRES_SCHEMA": settings.postgres_schema,
        }
    )
    return env


@pytest.mark.postgres
def test_sigkill_mid_catch_up_then_restart_equals_a_rebuild(
    postgres_settings: Settings, make_app: Any, make_views: Any, history: Any
) -> None:
    app = make_app(postgres_settings, Registration)
    history.seed_history(app, students=120, subjects=20, chunk=20)
    head = app.recorder.max_notification_id()
    assert head > 2000
    views = make_views(postgres_settings)
    command = [sys.executable, "-m", "regledger.adapters.projector", "--catch-up", "--batch-size", "7"]
    env = subprocess_env(postgres_settings)
    proc = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while views.position() < head // 3:
            assert proc.poll() is None, "the projector ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = views.position()
    assert 0 < killed_at < head, "killed mid catch-up"
    subprocess.run(command, env=env, cwd=ROOT, check=True, timeout=120)
    assert views.position() == head
    rebuilt = make_views(postgres_settings, prefix="rb_")
    Projector(app, rebuilt).rebuild()
    live, fresh = views.dump(), rebuilt.dump()
    assert fresh == live
    assert len(live["intervals"]) > 500
    # ... and PostgreSQL equals the in-memory implementation on the same events.
    memory = make_views(Settings.from_mapping({"REGLEDGER_STORE": "memory"}))
    Projector(app, memory).catch_up()
    assert memory.dump() == live


WRITER = """
import importlib.util, sys
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
spec = importlib.util.spec_from_file_location("h", sys.argv[1]); h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)
s = Settings()
app = Registration(env=s.eventsourcing_env(names=[Registration.name]))
h.seed_history(app, slug=sys.argv[2], students=60, subjects=10, chunk=2, seed=int(sys.argv[3]))
app.close()
"""


@pytest.mark.postgres
def test_concurrent_writers_while_tailing_skip_nothing(
    postgres_settings: Settings, make_app: Any, make_views: Any, history: Any
) -> None:
    app = make_app(postgres_settings, Registration)
    info = history.seed_history(app, students=4, subjects=6, chunk=4)
    pid = info["program_id"]
    views = make_views(postgres_settings)
    projector = Projector.for_settings(postgres_settings, app, views=views, batch_size=50)
    env = subprocess_env(postgres_settings)
    errors: list[BaseException] = []

    def thread_writer(n: int) -> None:
        try:
            for i in range(40):
                key = f"t{n}-{i}"
                app.submit_profile(pid, key, key, 2030, {}, ctx())
                section = info["section_ids"][(n + i) % len(info["section_ids"])]
                app.add_section(pid, key, section, ctx(), "Interested")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with projector:
        procs = [
            subprocess.Popen([sys.executable, "-c", WRITER, str(HISTORY), f"proc{n}", str(n)], env=env, cwd=ROOT)
            for n in range(2)
        ]
        threads = [threading.Thread(target=thread_writer, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for p in procs:
            assert p.wait(120) == 0
        assert not errors
        head = app.recorder.max_notification_id()
        projector.wait(head, timeout=30)
    assert views.position() == head
    # Oracle 1: the aggregates of the thread writers' program.
    for n in range(3):
        for i in range(40):
            student = app.get_student(pid, f"t{n}-{i}")
            expected = {(sec, verb) for (sec, verb) in student.registrations}
            assert {(e.section_id, e.verb) for e in views.sections(student.id)} == expected
    # Oracle 2: every event, folded again from zero, gives the same tables (nothing skipped).
    rebuilt = make_views(postgres_settings, prefix="rb_")
    Projector(app, rebuilt).rebuild()
    assert rebuilt.dump() == views.dump()
    programs = {UUID(str(r[1])) for r in views.dump()["students"]}
    assert len(programs) == 3


def _consume_ids(app: Registration, count: int) -> None:
    """A failed insert of `count` events: PostgreSQL's sequence hands out ids that never commit."""
    from eventsourcing.persistence import IntegrityError, StoredEvent

    first = app.recorder.select_notifications(0, 1)[0]
    fresh = [StoredEvent(uuid4(), 1, "t:Gap", b"{}") for _ in range(count - 1)]
    with pytest.raises(IntegrityError):  # the last one repeats a stored (originator, version)
        app.recorder.insert_events([*fresh, StoredEvent(first.originator_id, 1, "t:Gap", b"{}")])


@pytest.mark.postgres
@pytest.mark.parametrize("window", [1, 4, 2000])
def test_catching_up_in_windows_of_ids_crosses_gaps_and_ends_at_the_head(
    postgres_settings: Settings, make_app: Any, make_views: Any, history: Any, window: int
) -> None:
    app = make_app(postgres_settings, Registration)
    info = history.seed_history(app, students=3, subjects=2, chunk=3)
    pid = info["program_id"]
    _consume_ids(app, 10)  # a gap wider than most windows
    for i in range(3):
        app.submit_profile(pid, f"late{i}", f"late{i}", 2030, {}, ctx())
        _consume_ids(app, 3)  # and gaps between events, and at the head
    head = app.recorder.max_notification_id()
    views = make_views(postgres_settings)
    projector = Projector(app, views, batch_size=window)
    positions: list[int] = []
    applied = projector.catch_up(lambda position, _: positions.append(position))
    assert applied == len(app.recorder.select_notifications(0, 10_000))
    assert head - applied >= 10  # the gaps are there
    assert views.position() == head
    assert positions == sorted(positions)
    # The same tables as batches of whole pages, one after the other.
    oracle = make_views(postgres_settings, prefix="rv_pages_")
    for batch in read_batches(app, 7):
        oracle.apply(batch)
    assert views.dump() == oracle.dump()
    # Nothing is applied twice: following on from the head applies nothing new.
    assert projector.step() == 0


@pytest.mark.postgres
def test_a_catch_up_interrupted_by_a_lost_connection_resumes(
    postgres_settings: Settings, make_app: Any, make_views: Any, history: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from regledger.adapters.postgres.notification_reader import PipelinedPages

    app = make_app(postgres_settings, Registration)
    history.seed_history(app, students=20, subjects=5, chunk=5)
    head = app.recorder.max_notification_id()
    failures = iter([True, True])  # the first two pipelined reads fail, the rest succeed
    rows = PipelinedPages.rows

    def flaky(self: PipelinedPages) -> Any:
        if next(failures, False):
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return rows(self)

    monkeypatch.setattr(PipelinedPages, "rows", flaky)
    views = make_views(postgres_settings)
    projector = Projector.for_settings(postgres_settings, app, views=views, batch_size=20)
    with projector:
        projector.wait(head, timeout=20)
    assert projector.error is None
    assert next(failures, None) is None  # both failures happened
    oracle = make_views(postgres_settings, prefix="rv_oracle_")
    Projector(app, oracle).catch_up()
    assert views.dump() == oracle.dump()
