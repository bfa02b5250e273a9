"""Program logs: each program created in the per_program layout writes its own events table."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from regledger.adapters.postgres.recorders import PIPELINE_MAX_EVENTS
from regledger.domain.application import Registration
from regledger.domain.ids import program_id, registration_types_id
from tests.application.conftest import admin, as_student, build_world

pytestmark = [pytest.mark.postgres]

WAITLISTS = {"waitlist_enabled": True}


def rows(app: Registration, table: str, *, only: bool = True) -> list[tuple[int, UUID, str]]:
    """(notification id, originator id, topic) of a table's own rows, in id order."""
    schema = app.recorder.datastore.schema  # type: ignore[attr-defined]
    query = sql.SQL("SELECT notification_id, originator_id, topic FROM {only} {schema}.{table} ORDER BY 1").format(
        only=sql.SQL("ONLY" if only else ""), schema=sql.Identifier(schema), table=sql.Identifier(table)
    )
    with app.recorder.datastore.get_connection() as conn, conn.cursor() as curs:  # type: ignore[attr-defined]
        return [(r["notification_id"], r["originator_id"], r["topic"]) for r in curs.execute(query).fetchall()]


def enrol_two(world: Any) -> None:
    world.subject("math", "Math", class_size_max=1)
    world.section("math1", "math", [0])
    for key in ("alice", "bob"):
        world.profile(key)
    world.add("alice", "math1")
    world.waitlist("bob", "math1")


def test_a_new_programs_events_go_to_its_own_table_and_verbs_to_the_shared_one(make):
    app = make()
    world = build_world(app, slug="splash", settings=WAITLISTS)
    enrol_two(world)
    table = app.logs.table_of(world.program_id)
    assert table is not None
    assert table != "registration_events"
    own = rows(app, table)
    shared = rows(app, "registration_events")
    assert own
    assert all("RegistrationTypes" not in topic for _, _, topic in own)
    # The shared table holds only the verb catalogue; every event of the program is in its table.
    assert {originator for _, originator, _ in shared} == {registration_types_id("student")}
    assert {world.program_id, world.student_id("alice"), world.sections["math1"]} <= {o for _, o, _ in own}
    # The shared table without ONLY is the whole log, in one sequence of positions.
    everything = rows(app, "registration_events", only=False)
    assert sorted(everything) == sorted(own + shared)
    assert len({position for position, _, _ in everything}) == len(everything)
    assert app.position() == max(position for position, _, _ in everything)


def test_another_process_reads_and_continues_a_program_from_its_table(make):
    world = build_world(make(), slug="splash", settings=WAITLISTS)
    enrol_two(world)
    other = make()  # a second process: nothing cached, every aggregate read from the log
    world.app = other
    assert world.enrolled_keys("math1") == {"alice"}
    assert world.get_section("math1").waitlist == [world.student_id("bob")]
    world.drop("alice", "math1")
    assert world.enrolled_keys("math1") == {"bob"}  # the queue's head took the seat


def test_programs_have_separate_tables_and_each_table_is_in_commit_order(make):
    app = make()
    splash, spark = (
        build_world(app, slug="splash", settings=WAITLISTS),
        build_world(app, slug="spark", settings=WAITLISTS),
    )
    enrol_two(splash)
    enrol_two(spark)
    tables = app.logs.tables()
    assert set(tables) == {program_id("splash"), program_id("spark")}
    assert len(set(tables.values())) == 2
    for program, table in tables.items():
        own = rows(app, table)
        assert {originator for _, originator, _ in own if originator == program} == {program}
        assert [p for p, _, _ in own] == sorted(p for p, _, _ in own)


def test_a_program_created_before_the_layout_stays_in_the_shared_table(make):
    legacy = build_world(make(Registration), slug="legacy", settings=WAITLISTS)  # the shared layout's application
    app = make()
    assert app.logs.table_of(legacy.program_id) is None
    legacy.app = app
    enrol_two(legacy)
    assert legacy.enrolled_keys("math1") == {"alice"}
    assert app.logs.tables() == {}
    assert legacy.student_id("alice") in {o for _, o, _ in rows(app, "registration_events")}
    fresh = build_world(app, slug="fresh", settings=WAITLISTS)
    assert set(app.logs.tables()) == {fresh.program_id}


def test_one_save_cannot_span_two_programs(make):
    app = make()
    splash, spark = (
        build_world(app, slug="splash", settings=WAITLISTS),
        build_world(app, slug="spark", settings=WAITLISTS),
    )
    for world in (splash, spark):
        world.subject("math", "Math")
    a, b = app.load_subject(splash.subjects["math"]), app.load_subject(spark.subjects["math"])
    a.change_status("hidden", admin().audit())
    b.change_status("hidden", admin().audit())
    before = app.position()
    with pytest.raises(ValueError, match="two programs"):
        app.save(a, b)
    assert app.position() == before


def test_programs_created_at_once_by_several_processes_get_their_tables(make):
    apps = [make() for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(apps))

    def create(i: int) -> None:
        try:
            start.wait()
            build_world(apps[i], slug=f"p{i}", settings=WAITLISTS)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(len(apps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(apps[0].logs.tables()) == {program_id(f"p{i}") for i in range(len(apps))}


def test_two_processes_racing_for_the_last_seat_of_a_program_conflict_in_its_table(make):
    first, second = make(), make()
    world = build_world(first, slug="splash", settings=WAITLISTS)
    world.subject("math", "Math", class_size_max=1)
    world.section("math1", "math", [0])
    keys = [f"s{i}" for i in range(8)]
    for key in keys:
        world.profile(key)
    start = threading.Barrier(len(keys))
    outcomes: list[str] = []

    def add(i: int, key: str) -> None:
        app = (first, second)[i % 2]
        start.wait()
        try:
            app.add_section(world.program_id, key, world.sections["math1"], as_student(key))
            outcomes.append("added")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=add, args=(i, key)) for i, key in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("added") == 1
    world.app = make()
    assert len(world.get_section("math1").enrolled) == 1


def test_a_large_save_into_a_programs_table_reads_back_only_its_own_ids(make):
    app = make()
    world = build_world(app, slug="splash", settings=WAITLISTS)
    table = app.logs.table_of(world.program_id)
    events = [StoredEvent(uuid4(), 1, "tests:Thing.Happened", b"{}") for _ in range(PIPELINE_MAX_EVENTS + 1)]
    ids = app.recorder.insert_events(events, log=table)
    assert ids is not None
    assert len(ids) == len(events)
    assert list(ids) == sorted(ids)
    assert [p for p, _, _ in rows(app, table)][-len(events) :] == list(ids)
    assert {o for p, o, _ in rows(app, table) if p in set(ids)} == {e.originator_id for e in events}
