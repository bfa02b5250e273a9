"""Where the SQLite database lives: REGLEDGER_HOME, else the per-user data directory, never the cwd;
creating a new one says so, once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from regledger.adapters.bootstrap import build
from regledger.adapters.settings import Settings

CREATED = "created a new database at"


@pytest.fixture
def data_home(monkeypatch, tmp_path):
    """The per-user data directory platformdirs reports, moved under tmp_path; REGLEDGER_HOME unset."""
    monkeypatch.delenv("REGLEDGER_HOME", raising=False)
    monkeypatch.delenv("REGLEDGER_SQLITE_PATH", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "regledger"


def _created(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "regledger.database" and CREATED in r.getMessage()]


def test_the_default_database_is_in_the_per_user_data_directory_whatever_the_cwd(data_home, monkeypatch, tmp_path):
    paths = set()
    for cwd in (tmp_path, tmp_path / "elsewhere", Path("/")):
        cwd.mkdir(exist_ok=True)
        monkeypatch.chdir(cwd)
        paths.add(Settings().sqlite_path)

    assert paths == {data_home / "regledger.sqlite3"}


def test_regledger_home_names_the_directory_of_the_database(monkeypatch, tmp_path):
    monkeypatch.setenv("REGLEDGER_HOME", str(tmp_path / "season"))
    monkeypatch.delenv("REGLEDGER_SQLITE_PATH", raising=False)

    assert Settings().sqlite_path == tmp_path / "season" / "regledger.sqlite3"
    assert Settings.from_mapping({"REGLEDGER_HOME": "~/x"}).sqlite_path == Path.home() / "x" / "regledger.sqlite3"


def test_a_relative_regledger_home_is_fixed_when_the_settings_are_built(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_mapping({"REGLEDGER_HOME": "data"})
    monkeypatch.chdir("/")

    assert settings.eventsourcing_env()["SQLITE_DBNAME"] == str(tmp_path / "data" / "regledger.sqlite3")


def test_an_explicit_sqlite_path_beats_regledger_home(tmp_path):
    settings = Settings.from_mapping(
        {"REGLEDGER_HOME": str(tmp_path / "home"), "REGLEDGER_SQLITE_PATH": str(tmp_path / "x.sqlite3")}
    )

    assert settings.sqlite_path == tmp_path / "x.sqlite3"


@pytest.mark.parametrize("bad", ["", "."])
def test_a_blank_regledger_home_is_refused(bad):
    with pytest.raises(ValidationError, match="REGLEDGER_HOME must be a directory path"):
        Settings.from_mapping({"REGLEDGER_HOME": bad})


def test_a_file_is_not_a_regledger_home(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ValidationError, match="REGLEDGER_HOME is not a directory"):
        Settings.from_mapping({"REGLEDGER_HOME": str(tmp_path / "f")})


def test_a_directory_in_place_of_the_default_file_is_refused(tmp_path):
    (tmp_path / "regledger.sqlite3").mkdir()
    with pytest.raises(ValidationError, match="is a directory, not a file"):
        Settings.from_mapping({"REGLEDGER_HOME": str(tmp_path)})


def test_building_services_on_a_new_database_says_so_once_and_reopening_stays_quiet(caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="regledger.database")
    settings = Settings.from_mapping({"REGLEDGER_HOME": str(tmp_path / "h")})

    build(settings, follow=False).close()  # prepares the events, views and token stores
    assert _created(caplog) == [f"{CREATED} {tmp_path / 'h' / 'regledger.sqlite3'}"]

    caplog.clear()
    build(settings, follow=False).close()
    assert _created(caplog) == []
    assert (tmp_path / "h" / "regledger.views.sqlite3").exists()  # the views stay beside the events


def test_of_threads_preparing_one_new_database_exactly_one_reports_it(caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="regledger.database")
    settings = Settings.from_mapping({"REGLEDGER_HOME": str(tmp_path)})
    start = threading.Barrier(8)

    def prepare() -> None:
        start.wait()
        settings.prepare()

    threads = [threading.Thread(target=prepare) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(_created(caplog)) == 1


def test_the_memory_store_creates_no_file(caplog, tmp_path):
    settings = Settings.from_mapping({"REGLEDGER_STORE": "memory", "REGLEDGER_HOME": str(tmp_path / "h")})
    settings.prepare()

    assert not (tmp_path / "h").exists()
    assert _created(caplog) == []


def _regledger(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regledger", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.slow
def test_commands_from_two_directories_share_one_database_and_only_the_first_creates_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLEDGER_")}
    env |= {"XDG_DATA_HOME": str(tmp_path / "xdg"), "COLUMNS": "200"}
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    database = tmp_path / "xdg" / "regledger" / "regledger.sqlite3"

    created = _regledger("token", "create", "--role", "admin", "--subject", "alice", cwd=first, env=env)
    listed = _regledger("token", "list", cwd=second, env=env)

    assert created.returncode == 0, created.stderr
    assert listed.returncode == 0, listed.stderr
    assert created.stderr.count(CREATED) == 1
    assert f"{CREATED} {database}" in created.stderr
    assert CREATED not in listed.stderr
    assert created.stdout.strip().split(".")[0] in listed.stdout  # the token id, found from the other directory
    assert list(first.iterdir()) == []
    assert list(second.iterdir()) == []
