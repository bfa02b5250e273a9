"""`regledger logs`: the events tables, their heads and how far the views follow, per layout."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from regledger.adapters.bootstrap import build
from regledger.adapters.cli import cli
from regledger.adapters.projector import Projector, build_views
from tests.application.conftest import admin, build_world
from tests.cli.helpers import parse_json
from tests.serving import postgres_env

pytestmark = [pytest.mark.postgres]


def logs(settings) -> list[dict]:
    env = {**postgres_env(settings), "REGLEDGER_LOG_LAYOUT": settings.log_layout, "COLUMNS": "200"}
    result = CliRunner().invoke(cli, ["logs", "--format", "json"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return parse_json(result)["logs"]


def test_each_programs_table_is_listed_with_its_head_and_the_views_behind_it(postgres_per_program_settings):
    services = build(postgres_per_program_settings, follow=False)
    try:
        splash = build_world(services.app, slug="splash")
        build_world(services.app, slug="spark")
        services.projector.catch_up()
        splash.subject("math")  # one event the views do not have yet
        table = services.app.logs.table_of(splash.program_id)
    finally:
        services.close()
    listed = {row["program"]: row for row in logs(postgres_per_program_settings)}
    assert set(listed) == {"(shared)", "splash", "spark"}
    assert listed["splash"]["events_table"] == table
    assert [listed[p]["behind"] for p in ("(shared)", "splash", "spark")] == [0, 1, 0]
    assert listed["splash"]["head"] > listed["splash"]["views"]


def test_one_table_is_one_row(postgres_settings):
    services = build(postgres_settings, follow=False)
    try:
        build_world(services.app, slug="splash")
        head = services.app.position()
    finally:
        services.close()
    [row] = logs(postgres_settings)
    assert (row["program"], row["events_table"], row["head"], row["views"], row["behind"]) == (
        "(every program)",
        "registration_events",
        head,
        0,
        head,
    )


def split(settings, slug: str, *, code: int = 0):
    env = {**postgres_env(settings), "REGLEDGER_LOG_LAYOUT": settings.log_layout, "COLUMNS": "200"}
    result = CliRunner().invoke(cli, ["logs", "split", slug], env=env)
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_a_program_moves_into_its_own_table_with_its_positions_and_the_views_go_on(postgres_settings):
    shared = build(postgres_settings, follow=False)  # the shared layout, as the program was made
    try:
        old, other = build_world(shared.app, slug="old"), build_world(shared.app, slug="other")
        for world in (old, other):
            world.subject("math", class_size_max=1)
            world.section("math1", "math", [0])
            world.profile("ann")
            world.add("ann", "math1")
        old.profile("bea")  # the views do not have it yet when the program moves
        shared.projector.catch_up()
        old.profile("cat")
        before = shared.app.recorder.select_notifications(1, 10_000)
    finally:
        shared.close()
    per_program = postgres_settings.model_copy(update={"log_layout": "per_program"})
    assert "moved" in split(per_program, "old").output

    services = build(per_program, follow=False)
    try:
        app = services.app
        table = app.logs.table_of(old.program_id)
        after = app.recorder.select_notifications(1, 10_000)
        # The whole log is the same, position for position; the program's events are in its table.
        assert [(n.id, n.originator_id, n.originator_version) for n in after] == [
            (n.id, n.originator_id, n.originator_version) for n in before
        ]
        assert app.shared_aggregates_of(old.program_id) == []  # nothing of it left in the shared table
        assert app.shared_aggregates_of(other.program_id)  # the other program stays
        old.app = other.app = app
        old.drop("ann", "math1")  # the program works on, in its own table
        old.add("cat", "math1", admin(reason="moved"))
        assert set(old.get_section("math1").enrolled) == {old.student_id("cat")}
        services.projector.catch_up()
        assert services.views.positions([f"registration_views:{table}"])  # followed from where it was
        rows = {k: v for k, v in services.views.dump().items() if k != "tracking"}
        replay = build_views(per_program, prefix="rv_replay_")
        try:
            Projector(app, replay).catch_up()
            assert rows == {k: v for k, v in replay.dump().items() if k != "tracking"}
        finally:
            replay.drop_tables()
            replay.close()
    finally:
        services.close()
    split(per_program, "old", code=2)  # once only


def test_a_split_is_refused_while_another_regledger_process_is_connected(postgres_per_program_settings):
    services = build(postgres_per_program_settings, follow=False)
    try:
        build_world(services.app, slug="splash")
        services.views.position()  # its views connection names itself regledger
        assert (
            "stop serve, project and notify run first" in split(postgres_per_program_settings, "splash", code=2).output
        )
    finally:
        services.close()
