"""Set-based batch writes: the batch size never changes the tables.

The writers net each batch per table and key (`projections.netting`) and apply the final rows
with one statement per table and kind. A random but valid stream of view changes, dense in the
sequences netting must resolve (open then close in one batch, close then reopen, a seat released
and taken again, a waitlist place left by taking a seat, a section created then changed), is cut
into batches of 1, 7 and 1000 positions; every store must give the same rows as the oracle
applying one change at a time (`per_change.py`).
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from regledger.adapters.projector import Projector
from regledger.adapters.views.postgres import optimize_statements
from regledger.adapters.views.schema import DEFERRED_INDEXES, INTERVALS, TABLES
from regledger.adapters.views.writes import WRITES
from regledger.domain.application import Registration
from regledger.projections import changes as c
from regledger.projections.changes import Batch, ViewChange
from regledger.projections.netting import NetBatch
from regledger.projections.views import PositionAlreadyApplied

DEFERRED = {index.name for _, index in DEFERRED_INDEXES}


def change_stream(seed: int, positions: int = 400) -> list[tuple[int, list[ViewChange]]]:
    rng = random.Random(seed)
    program = uuid4()
    t0 = datetime(2027, 2, 13, 9, tzinfo=UTC)
    slots = [uuid4() for _ in range(3)]
    subjects = [uuid4() for _ in range(3)]
    sections = [uuid4() for _ in range(3)]
    students = [uuid4() for _ in range(3)]
    runs, started = [uuid4() for _ in range(2)], set()
    verbs = ["Enrolled", "Priority/1"]
    setup: list[ViewChange] = [
        c.ProgramCreated(program, "splash", "Splash", 7, 12, 2027, t0),
        c.ProgramSettingSet(program, "timezone", '"UTC"'),
        *(c.TimeslotAdded(program, t, f"T{i}", t0, t0 + timedelta(minutes=50)) for i, t in enumerate(slots)),
        *(c.SubjectUpserted(s, program, f"C{i}", f"Class {i}", "General", "accepted") for i, s in enumerate(subjects)),
    ]
    stream: list[tuple[int, list[ViewChange]]] = [(1, setup)]
    created: set[UUID] = set()
    known: set[UUID] = set()
    open_iv: set[tuple[UUID, UUID, str]] = set()
    stars: set[tuple[UUID, UUID]] = set()
    seats: set[tuple[UUID, UUID]] = set()
    waitlist: set[tuple[UUID, UUID]] = set()
    position = 1
    for step in range(positions):
        position += rng.choice([1, 1, 1, 2])  # gaps in ids are allowed
        at = t0 + timedelta(seconds=step)
        student, section = rng.choice(students), rng.choice(sections)
        subject = subjects[sections.index(section) % len(subjects)]
        audit = ("actor", "reason", f"cmd-{step}")
        out: list[ViewChange] = []
        if student not in known:
            known.add(student)
            out.append(c.StudentUpserted(student, program, f"k{step}", at))
        if section not in created:
            created.add(section)
            out.append(c.SectionUpserted(section, program, subject, 1, (rng.choice(slots),), 3))
        for _ in range(rng.randint(1, 4)):
            kind = rng.randrange(12)
            key = (student, section, rng.choice(verbs))
            pair = (section, student)
            if kind in (0, 1):
                if key in open_iv:
                    out.append(c.IntervalClosed(*key, at, "drop", *audit))
                    open_iv.discard(key)
                out.append(c.IntervalOpened(*key[:2], subject, key[2], at, "fcfs", *audit, None))
                open_iv.add(key)
            elif kind in (2, 3):
                out.append(c.IntervalClosed(*key, at, "drop", *audit))  # a no-op when not open
                open_iv.discard(key)
            elif kind == 4:
                skey = (student, subject)
                if skey in stars:
                    out.append(c.StarClosed(*skey, at, "a", f"cmd-{step}"))
                    stars.discard(skey)
                else:
                    out.append(c.StarOpened(*skey, at, "a", f"cmd-{step}"))
                    stars.add(skey)
            elif kind in (5, 6):
                if pair in seats:
                    out.append(c.SeatReleased(*pair))
                    seats.discard(pair)
                else:
                    out.append(c.SeatTaken(*pair, at, "fcfs"))
                    seats.add(pair)
                    waitlist.discard(pair)
            elif kind == 7:
                if pair in waitlist:
                    out.append(c.WaitlistLeft(*pair))
                    waitlist.discard(pair)
                elif pair not in seats:
                    out.append(c.WaitlistJoined(*pair, at))
                    waitlist.add(pair)
            elif kind == 8:
                out.append(c.WaitlistLeft(*pair))  # a no-op when absent
                waitlist.discard(pair)
            elif kind == 9:
                room = rng.choice([None, rng.randint(0, 9)])
                out.append(c.SeatsChanged(section, rng.randint(0, 9), room, rng.choice([None, 4])))
                if rng.random() < 0.5:
                    details = (f"Class {step}", "Math", 9, 12, rng.choice([None, 20]), None, rng.random() < 0.5)
                    out.append(c.SubjectDetailsChanged(subject, *details))
                else:
                    out.append(c.StudentProfiled(student, f"Name {step}", 2030, rng.choice([None, "a@b.c"])))
            elif kind == 11 and rng.random() < 0.2:
                run = runs[step % len(runs)]
                if run not in started:
                    started.add(run)
                    out.append(c.RunStarted(run, program, step, position, "started", at, "admin:a"))
                else:
                    status = rng.choice(["computed", "committed", "discarded"])
                    out.append(c.RunPatch(run, status, assignments=step, ended_at=rng.choice([None, at])))
            elif kind == 11 and rng.random() < 0.3:
                out.append(c.ProgramSettingSet(program, rng.choice(["timezone", "min_stars"]), str(step)))
                out.append(c.WindowSet(program, rng.choice(["lottery", "classes"]), rng.choice([None, at]), None))
            elif kind == 10:
                out.append(c.SectionStatusChanged(section, is_open=rng.choice([True, False, None]), is_cancelled=None))
                out.append(c.SectionTimeslotsChanged(section, tuple(rng.sample(slots, 2))))
            else:
                out.append(c.SubjectStatusChanged(subject, rng.choice(["accepted", "cancelled"])))
                out.append(c.SectionStatusChanged(section, is_cancelled=rng.choice([True, False])))
        stream.append((position, out))
    return stream


def batches(stream: list[tuple[int, list[ViewChange]]], size: int) -> list[Batch]:
    out = []
    for start in range(0, len(stream), size):
        part = stream[start : start + size]
        changes = [(position, seq, ch) for position, chs in part for seq, ch in enumerate(chs)]
        out.append(Batch(part[-1][0], changes, len(part)))
    return out


def build(views: Any, stream: list[tuple[int, list[ViewChange]]], size: int) -> dict[str, Any]:
    for batch in batches(stream, size):
        views.apply(batch)
    dump: dict[str, Any] = views.dump()
    return dump


def test_batch_sizes_give_identical_tables(store_settings: Any, make_views: Any, per_change: Any) -> None:
    stream = change_stream(seed=7)
    expected = build(per_change.PerChangeViews(), stream, 1)
    assert len(expected["intervals"]) > 100
    assert any(row[8] is not None for row in expected["intervals"])  # closed intervals
    assert expected["seats"]
    for size in (1, 7, 1000):
        assert build(make_views(store_settings, prefix=f"b{size}_"), stream, size) == expected, size
    # (on PostgreSQL, the 1000-position batch has more changes than `pipeline_max_changes`: it
    # takes the unpipelined path, the smaller ones the pipelined one)
    assert len(batches(stream, 1000)[0].changes) > 1000
    for seed in range(3):
        other = change_stream(seed, positions=150)
        want = build(per_change.PerChangeViews(), other, 1)
        for size in (1, 7, 1000):
            assert build(make_views(store_settings, prefix=f"r{seed}_{size}_"), other, size) == want, (seed, size)


def test_a_rebuild_recreates_the_deferred_indexes(sqlite_settings: Any, make_app: Any, make_views: Any) -> None:
    app = make_app(sqlite_settings, Registration)
    views = make_views(sqlite_settings)
    views.defer_indexes()
    assert not {f"rv_{i}" for i in DEFERRED} & _index_names(views)
    Projector(app, views).rebuild()
    assert {f"rv_{i}" for i in DEFERRED} <= _index_names(views)


def _index_names(views: Any) -> set[str]:
    return {r[0] for r in views.read("SELECT name FROM sqlite_master WHERE type = 'index'")}


@pytest.mark.postgres
def test_a_postgres_rebuild_recreates_the_deferred_indexes_and_vacuums(
    postgres_settings: Any, make_app: Any, make_views: Any, history: Any
) -> None:
    app = make_app(postgres_settings, Registration)
    history.seed_history(app, students=3, subjects=2, chunk=3)
    views = make_views(postgres_settings)
    Projector(app, views).rebuild()
    schema = postgres_settings.postgres_schema
    indexes = {r[0] for r in views.read("SELECT indexname FROM pg_indexes WHERE schemaname = ?", schema)}
    assert {f"rv_{i}" for i in DEFERRED} <= indexes
    stats = views.read("SELECT relname FROM pg_stat_user_tables WHERE schemaname = ? AND last_vacuum IS NULL", schema)
    assert not [r[0] for r in stats if r[0].startswith("rv_")]
    analyzed = views.read(
        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = ? AND last_analyze IS NULL", schema
    )
    assert not [r[0] for r in analyzed if r[0].startswith("rv_")]
    # The planner has statistics on every column the queries filter, join and sort on.
    columns = set(views.read("SELECT tablename, attname FROM pg_stats WHERE schemaname = ?", schema))
    for table in TABLES:
        if table.name != "waitlist":  # empty in this history
            assert {(f"rv_{table.name}", c) for c in table.statistics} <= columns, table.name


def test_a_large_batch_is_applied_exactly_once(store_settings: Any, make_views: Any) -> None:
    stream = change_stream(seed=3)
    (batch,) = batches(stream, 1000)
    assert len(batch.changes) > 1000
    views = make_views(store_settings)
    if hasattr(views, "pipeline_max_changes"):
        views.pipeline_max_changes = 1000  # PostgreSQL: the path that sends statements one by one
    views.apply(batch)
    before = views.dump()
    with pytest.raises(PositionAlreadyApplied):
        views.apply(batch)
    assert views.dump() == before


def test_the_optimize_queue_runs_every_build_and_vacuum_once_costliest_first() -> None:
    statements = optimize_statements()
    builds = [s for s in statements if s.startswith("CREATE INDEX")]
    assert sorted(re.search(r"\{n\}(\w+) ON", s).group(1) for s in builds) == sorted(DEFERRED)
    vacuumed = [re.search(r"\{p\}(\w+)", s).group(1) for s in statements if s.startswith("VACUUM")]
    assert sorted(vacuumed) == sorted(t.name for t in TABLES)
    # The intervals (the largest table): its builds, widest first, then its VACUUM, before the rest.
    first = statements[
        : statements.index("VACUUM (ANALYZE) {p}intervals (" + ", ".join(INTERVALS.statistics) + ")") + 1
    ]
    assert all(" ON {p}intervals " in s for s in first[:-1])
    assert first[0].startswith("CREATE INDEX IF NOT EXISTS {n}intervals_section_verb")


def test_the_writes_follow_the_netted_batch_in_order() -> None:
    """Deletes and closes of earlier rows before inserts, per table: NetBatch's field order."""
    assert [w.field for w in WRITES] == [f for f in NetBatch.__dataclass_fields__ if f != "position"]
