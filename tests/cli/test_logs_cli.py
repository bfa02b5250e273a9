"""`regledger logs`: the events tables, their heads and how far the views follow, per layout."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from regledger.adapters.bootstrap import build
from regledger.adapters.cli import cli
from tests.application.conftest import build_world
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
