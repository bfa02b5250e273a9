"""Following per-program logs: no event passed over, views equal a replay, read-your-writes."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from regledger.adapters.program_log_projector import ProgramLogsProjector
from regledger.adapters.program_logs_app import ProgramLogRegistration
from regledger.adapters.projector import Projector
from regledger.adapters.views.postgres import PostgresViews
from regledger.domain.application import Registration
from tests.application.conftest import admin, as_student, build_world

pytestmark = [pytest.mark.postgres]

HOLD = 4242  # the advisory lock a held insert waits for


@pytest.fixture
def follow(settings: Any) -> Any:
    started: list[ProgramLogsProjector] = []

    def follow(app: ProgramLogRegistration, views: PostgresViews) -> ProgramLogsProjector:
        projector = ProgramLogsProjector(app, views, conninfo=settings.postgres_conninfo())
        started.append(projector)
        return projector

    yield follow
    for projector in started:
        projector.close()


def world_with_class(app: Any, slug: str, keys: list[str]) -> Any:
    world = build_world(app, slug=slug)
    world.subject("math", "Math", class_size_max=len(keys))
    world.section("math1", "math", [0])
    for key in keys:
        world.profile(key)
    return world


def replayed(app: Any, views: Any) -> dict[str, Any]:
    """The views of one replay of the whole log into `views`, after every write committed."""
    Projector(app, views).catch_up()
    return rows_of(views)


def rows_of(views: PostgresViews) -> dict[str, Any]:
    """Every view table's rows; not the tracking rows, which differ by how the log was followed."""
    return {table: rows for table, rows in views.dump().items() if table != "tracking"}


def hold_inserts(settings: Any, table: str) -> None:
    """Inserts into `table` wait, after their positions are drawn, while HOLD is held."""
    schema = sql.Identifier(settings.postgres_schema)
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE FUNCTION {schema}.hold() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_advisory_xact_lock({key}); RETURN NEW; END $$"
            ).format(schema=schema, key=sql.Literal(HOLD))
        )
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER hold BEFORE INSERT ON {schema}.{table} FOR EACH ROW EXECUTE FUNCTION {schema}.hold()"
            ).format(schema=schema, table=sql.Identifier(table))
        )


def test_an_insert_committed_late_in_one_table_is_followed_though_a_later_position_was(
    make, make_views, follow, settings
):
    app = make()
    late, early = world_with_class(app, "late", ["ann"]), world_with_class(app, "early", ["bea"])
    hold_inserts(settings, app.logs.table_of(late.program_id))
    whole_log = make_views(settings, "rv_whole_")  # one follower of the whole log, as in the shared layout
    whole = Projector(app, whole_log)
    per_table = follow(app, make_views(settings, "rv_"))
    whole.catch_up()
    per_table.catch_up()
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (HOLD,))
        held = threading.Thread(target=late.add, args=("ann", "math1"))
        held.start()  # its position is drawn, its commit waits
        wait_until_held(holder)
        position = early.add("bea", "math1").position  # a later position, committed first
        whole.catch_up()
        per_table.catch_up()
        assert whole_log.position() >= position
        holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD,))
        held.join()
    whole.catch_up()
    per_table.catch_up()
    truth = replayed(app, make_views(settings, "rv_replay_"))
    assert rows_of(whole_log) != truth  # the whole-log follower passed over ann's seat for good
    assert rows_of(per_table.views) == truth
    assert per_table.views.current_registrations(late.program_id, student_id=late.student_id("ann"))


def test_many_writers_in_several_programs_views_equal_a_replay_and_read_their_writes(
    make, make_views, follow, settings
):
    apps = [make(), make()]
    keys = [f"s{i}" for i in range(6)]
    worlds = [world_with_class(apps[0], f"p{i}", keys) for i in range(3)]
    projector = follow(apps[0], make_views(settings, "rv_")).start()
    errors: list[BaseException] = []

    def register(i: int) -> None:
        world = worlds[i % len(worlds)]
        app = apps[i % len(apps)]
        try:
            for key in keys:
                result = app.add_section(world.program_id, key, world.sections["math1"], as_student(key))
                projector.wait(result.position, timeout=30)
                seats = projector.views.current_registrations(world.program_id, student_id=world.student_id(key))
                assert [r.section_id for r in seats] == [world.sections["math1"]], key
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(len(worlds))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    projector.stop()
    projector.catch_up()
    assert errors == []
    assert rows_of(projector.views) == replayed(apps[0], make_views(settings, "rv_replay_"))
    projector.rebuild()
    assert rows_of(projector.views) == replayed(apps[0], make_views(settings, "rv_again_"))


def test_a_database_switched_from_the_shared_layout_continues_where_its_views_were(make, make_views, follow, settings):
    legacy = world_with_class(make(Registration), "legacy", ["ann", "bea"])
    legacy.add("ann", "math1")
    views = make_views(settings, "rv_")
    Projector(legacy.app, views).catch_up()  # the shared layout's projector
    app = make()
    legacy.app = app
    fresh = world_with_class(app, "fresh", ["cat"])
    legacy.add("bea", "math1")
    fresh.add("cat", "math1")
    projector = follow(app, views)
    projector.catch_up()
    assert rows_of(projector.views) == replayed(app, make_views(settings, "rv_replay_"))
    assert projector.reached() == app.position()


def test_a_lottery_started_while_a_priority_is_committing_replays_identically(make, settings):
    app = make()
    late, early = world_with_class(app, "late", ["ann", "bea"]), world_with_class(app, "early", ["cat"])
    late.rank("bea", 0, {1: "math"})
    hold_inserts(settings, app.logs.table_of(late.program_id))
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (HOLD,))
        held = threading.Thread(target=late.rank, args=("ann", 0, {1: "math"}))
        held.start()  # its position is drawn, its commit waits
        wait_until_held(holder)
        early.add("cat", "math1")  # a later position, committed first
        runs: list[Any] = []
        lottery = threading.Thread(target=lambda: runs.append(app.start_lottery(late.program_id, admin(), seed=1)))
        lottery.start()  # reads its input now; its save waits for the table
        wait_until_held(holder, "relation")
        holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD,))
        held.join()
        lottery.join()
    for replaying in (app, make()):  # this process's fold, and another's read from the log
        report = replaying.replay_lottery(UUID(runs[0].ids["run_id"]))
        assert report.identical, report


def wait_until_held(holder: psycopg.Connection[Any], lock: str = "advisory") -> None:
    """Until a transaction waits for HOLD (or, `relation`, for a table's lock)."""
    query = "SELECT count(*) FROM pg_locks WHERE locktype = %s AND NOT granted"
    while not holder.execute(query, (lock,)).fetchone()[0]:  # type: ignore[index]
        threading.Event().wait(0.01)
