from __future__ import annotations

import json
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr, ValidationError

from regledger.adapters.settings import Settings


class Note(Aggregate):
    def __init__(self, text: str) -> None:
        self.text = text


class Probe(Application[UUID]):
    pass


POSTGRES_URL = {
    "REGLEDGER_STORE": "postgres",
    "REGLEDGER_DATABASE_URL": "postgresql://alice:s%3Acr%40t@db.example:6543/reg",
}


def test_defaults_are_an_embedded_sqlite_store_in_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_mapping({})

    assert settings.store == "sqlite"
    assert settings.sqlite_path == tmp_path / "data" / "regledger" / "regledger.sqlite3"
    assert settings.eventsourcing_env() == {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "CREATE_TABLE": "y",
        "SQLITE_DBNAME": str(tmp_path / "data" / "regledger" / "regledger.sqlite3"),
        "SINGLE_ROW_TRACKING": "t",
        "ORIGINATOR_ID_TYPE": "uuid",
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "TRANSCODER_TOPIC": "regledger.adapters.orjson_transcoder:OrjsonDecodingTranscoder",
    }
    assert not (tmp_path / "data").exists()  # validation creates nothing; prepare() does


def test_relative_sqlite_path_is_fixed_when_the_settings_are_built(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_mapping({"REGLEDGER_SQLITE_PATH": "data/x.sqlite3"})
    monkeypatch.chdir("/")

    assert settings.eventsourcing_env()["SQLITE_DBNAME"] == str(tmp_path / "data/x.sqlite3")


def test_prepare_creates_the_sqlite_directory_and_nothing_for_memory(tmp_path):
    db = tmp_path / "deep" / "er" / "r.sqlite3"
    Settings.from_mapping({"REGLEDGER_STORE": "memory", "REGLEDGER_SQLITE_PATH": str(db)}).prepare()
    assert not db.parent.exists()

    Settings.from_mapping({"REGLEDGER_SQLITE_PATH": str(db)}).prepare()
    assert db.parent.is_dir()


def test_prefixed_variables_are_parsed_case_insensitively_and_others_ignored():
    settings = Settings.from_mapping(
        {
            "REGLEDGER_STORE": "postgres",
            "regledger_postgres_port": "6000",
            "REGLEDGER_POSTGRES_POOL_SIZE": "7",
            "REGLEDGER_NOT_A_SETTING": "whatever",
            "POSTGRES_HOST": "unprefixed.example",
            "STORE": "memory",
        }
    )

    assert settings.store == "postgres"
    assert settings.postgres_port == 6000
    assert settings.postgres_pool_size == 7
    assert settings.postgres_host == "127.0.0.1"


def test_from_mapping_ignores_os_environ_but_the_default_constructor_reads_it(monkeypatch):
    monkeypatch.setenv("REGLEDGER_STORE", "memory")
    monkeypatch.setenv("REGLEDGER_AGGREGATE_CACHE_SIZE", "3")

    assert Settings.from_mapping({}).store == "sqlite"
    from_env = Settings()
    assert (from_env.store, from_env.aggregate_cache_size) == ("memory", 3)


def test_database_url_overrides_the_postgres_fields():
    settings = Settings.from_mapping(
        {**POSTGRES_URL, "REGLEDGER_POSTGRES_HOST": "ignored", "REGLEDGER_POSTGRES_PORT": "1"}
    )

    assert settings.postgres_host == "db.example"
    assert settings.postgres_port == 6543
    assert settings.postgres_db == "reg"
    assert settings.postgres_user == "alice"
    assert settings.postgres_password.get_secret_value() == "s:cr@t"


def test_database_url_without_user_or_port_keeps_those_fields():
    settings = Settings.from_mapping({"REGLEDGER_DATABASE_URL": "postgres://h/d", "REGLEDGER_POSTGRES_USER": "bob"})

    assert (settings.postgres_host, settings.postgres_db) == ("h", "d")
    assert (settings.postgres_port, settings.postgres_user) == (5432, "bob")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/d", "must start with postgresql://"),
        ("postgresql:///d", "has no host"),
        ("postgresql://h", "must name exactly one database"),
        ("postgresql://h/a/b", "must name exactly one database"),
        ("postgresql://h:99999/d", "is not a valid URL"),
        ("postgresql://h:abc/d", "is not a valid URL"),
        ("postgresql://h/d?sslmode=require", "query parameters and fragments are not supported"),
    ],
)
def test_bad_database_urls_are_refused_with_a_clear_message(url, message):
    with pytest.raises(ValidationError) as caught:
        Settings.from_mapping({"REGLEDGER_DATABASE_URL": url})

    assert "REGLEDGER_DATABASE_URL" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("REGLEDGER_STORE", "mongo", "Input should be 'memory', 'sqlite' or 'postgres'"),
        ("REGLEDGER_POSTGRES_PORT", "0", "REGLEDGER_POSTGRES_PORT must be between 1 and 65535"),
        ("REGLEDGER_POSTGRES_PORT", "65536", "must be between 1 and 65535, got 65536"),
        ("REGLEDGER_POSTGRES_PORT", "five", "valid integer"),
        ("REGLEDGER_POSTGRES_POOL_SIZE", "0", "REGLEDGER_POSTGRES_POOL_SIZE must be >= 1, got 0"),
        ("REGLEDGER_POSTGRES_CONNECT_TIMEOUT", "0", "REGLEDGER_POSTGRES_CONNECT_TIMEOUT must be >= 1"),
        ("REGLEDGER_POSTGRES_MAX_OVERFLOW", "-1", "REGLEDGER_POSTGRES_MAX_OVERFLOW must be >= 0"),
        ("REGLEDGER_POSTGRES_LOCK_TIMEOUT", "-5", "REGLEDGER_POSTGRES_LOCK_TIMEOUT must be >= 0"),
        ("REGLEDGER_AGGREGATE_CACHE_SIZE", "-1", "REGLEDGER_AGGREGATE_CACHE_SIZE must be >= 0"),
        ("REGLEDGER_POSTGRES_SCHEMA", "Bad-Name", "must be a lower-case SQL identifier"),
        ("REGLEDGER_POSTGRES_SCHEMA", "1abc", "must be a lower-case SQL identifier"),
        ("REGLEDGER_POSTGRES_SCHEMA", "pg_temp", "must be a lower-case SQL identifier"),
        ("REGLEDGER_POSTGRES_SCHEMA", "x; drop table y", "must be a lower-case SQL identifier"),
        ("REGLEDGER_POSTGRES_SCHEMA", "s" * 64, "at most 63 chars"),
        ("REGLEDGER_POSTGRES_HOST", "  ", "REGLEDGER_POSTGRES_HOST must not be empty"),
        ("REGLEDGER_POSTGRES_DB", "", "REGLEDGER_POSTGRES_DB must not be empty"),
        ("REGLEDGER_SQLITE_PATH", ":memory:", "use REGLEDGER_STORE=memory"),
    ],
)
def test_invalid_values_are_refused_naming_the_variable(variable, value, message):
    with pytest.raises(ValidationError) as caught:
        Settings.from_mapping({variable: value})

    assert message in str(caught.value)


def test_a_directory_is_not_a_sqlite_path(tmp_path):
    with pytest.raises(ValidationError, match="REGLEDGER_SQLITE_PATH is a directory"):
        Settings.from_mapping({"REGLEDGER_SQLITE_PATH": str(tmp_path)})


def test_settings_are_immutable_once_built():
    settings = Settings.from_mapping({})
    with pytest.raises(ValidationError):
        settings.store = "memory"  # type: ignore[misc]


def test_postgres_env_is_complete_and_keeps_db_functions_off():
    settings = Settings.from_mapping(
        {**POSTGRES_URL, "REGLEDGER_POSTGRES_SCHEMA": "regs", "REGLEDGER_POSTGRES_LOCK_TIMEOUT": "2"}
    )

    assert settings.eventsourcing_env() == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "CREATE_TABLE": "y",
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "TRANSCODER_TOPIC": "regledger.adapters.orjson_transcoder:OrjsonDecodingTranscoder",
        "POSTGRES_DBNAME": "reg",
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "alice",
        "POSTGRES_PASSWORD": "s:cr@t",
        "POSTGRES_GET_PASSWORD_TOPIC": "",
        "POSTGRES_SCHEMA": "regs",
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_MAX_OVERFLOW": "10",
        "POSTGRES_LOCK_TIMEOUT": "2",
        "POSTGRES_CONNECT_TIMEOUT": "2",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "5",
        "POSTGRES_MAX_WAITING": "0",
        "POSTGRES_CONN_MAX_AGE": "3600",
        "POSTGRES_PRE_PING": "n",
        "SINGLE_ROW_TRACKING": "t",
        "ORIGINATOR_ID_TYPE": "uuid",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "APPLICATION_RECORDER_TOPIC": "regledger.adapters.postgres.recorders:LargeSavePostgresApplicationRecorder",
    }


def test_memory_env_selects_popo():
    env = Settings.from_mapping({"REGLEDGER_STORE": "memory"}).eventsourcing_env()

    assert env["PERSISTENCE_MODULE"] == "eventsourcing.popo"
    assert not any(key.startswith(("SQLITE_", "POSTGRES_DBNAME")) for key in env)


def test_names_pin_the_app_prefixed_keys_too():
    env = Settings.from_mapping({"REGLEDGER_STORE": "memory"}).eventsourcing_env(names=["Registration", "Rosters"])

    assert env["REGISTRATION_PERSISTENCE_MODULE"] == "eventsourcing.popo"
    assert env["ROSTERS_PERSISTENCE_MODULE"] == "eventsourcing.popo"
    assert not any(key.startswith("ROSTERS_REGISTRATION_") for key in env)


def test_shell_persistence_variables_do_not_switch_the_backend(monkeypatch, tmp_path):
    settings = Settings.from_mapping({"REGLEDGER_STORE": "memory"})
    before = settings.eventsourcing_env(names=[Probe.name])
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.sqlite")
    monkeypatch.setenv("PROBE_PERSISTENCE_MODULE", "eventsourcing.sqlite")
    monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "stray.sqlite3"))

    env = settings.eventsourcing_env(names=[Probe.name])
    app = Probe(env=env)
    try:
        assert env == before
        assert type(app.factory).__module__ == "eventsourcing.popo"
    finally:
        app.close()
    assert not (tmp_path / "stray.sqlite3").exists()


def test_without_names_an_app_prefixed_shell_variable_still_wins(monkeypatch, tmp_path):
    # The library looks up <APPNAME>_<KEY> before <KEY>: why make_app passes names=[app.name].
    monkeypatch.setenv("PROBE_PERSISTENCE_MODULE", "eventsourcing.sqlite")
    monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "stray.sqlite3"))

    app = Probe(env=Settings.from_mapping({"REGLEDGER_STORE": "memory"}).eventsourcing_env())
    try:
        assert type(app.factory).__module__ == "eventsourcing.sqlite"
    finally:
        app.close()


def test_cache_size_zero_disables_the_repository_cache():
    settings = Settings.from_mapping({"REGLEDGER_STORE": "memory", "REGLEDGER_AGGREGATE_CACHE_SIZE": "0"})
    cached = Settings.from_mapping({"REGLEDGER_STORE": "memory"})

    no_cache_app, cached_app = Probe(env=settings.eventsourcing_env()), Probe(env=cached.eventsourcing_env())
    assert no_cache_app.repository.cache is None
    assert cached_app.repository.cache is not None
    assert cached_app.repository.cache.maxsize == 10000


def test_sqlite_settings_run_a_real_application(tmp_path):
    settings = Settings.from_mapping({"REGLEDGER_SQLITE_PATH": str(tmp_path / "a" / "db.sqlite3")})
    settings.prepare()
    note = Note("kept")
    app = Probe(env=settings.eventsourcing_env())
    try:
        app.save(note)
    finally:
        app.close()

    reopened = Probe(env=settings.eventsourcing_env())
    try:
        assert reopened.repository.get(note.id).text == "kept"
    finally:
        reopened.close()


def test_redaction_hides_the_password_everywhere_it_could_be_logged():
    settings = Settings.from_mapping(POSTGRES_URL)
    shown = settings.redacted()

    for text in (repr(settings), str(settings), json.dumps(shown)):
        assert "s:cr@t" not in text
        assert "s%3Acr%40t" not in text
    assert shown["postgres_password"] == "**********"
    assert shown["database_url"] == "postgresql://alice:**********@db.example:6543/reg"
    assert shown["postgres_host"] == "db.example"


def test_redaction_shows_an_unset_password_as_empty():
    assert Settings.from_mapping({}).redacted()["postgres_password"] == ""


def test_conninfo_targets_our_schema_and_omits_an_empty_password():
    with_password = Settings.from_mapping({**POSTGRES_URL, "REGLEDGER_POSTGRES_SCHEMA": "regs"})
    without = with_password.model_copy(update={"postgres_password": SecretStr("")})

    params = conninfo_to_dict(with_password.postgres_conninfo())
    assert params["host"] == "db.example"
    assert params["port"] == "6543"
    assert params["dbname"] == "reg"
    assert params["user"] == "alice"
    assert params["password"] == "s:cr@t"
    assert "search_path=regs" in params["options"]
    assert "password" not in conninfo_to_dict(without.postgres_conninfo())


@pytest.mark.postgres
def test_postgres_settings_run_a_real_application(postgres_settings):
    note = Note("in postgres")
    app = Application[UUID](env=postgres_settings.eventsourcing_env())
    try:
        app.save(note)
        assert app.factory.datastore.schema == postgres_settings.postgres_schema
    finally:
        app.close()

    reopened = Application[UUID](env=postgres_settings.eventsourcing_env())
    try:
        assert reopened.repository.get(note.id).text == "in postgres"
    finally:
        reopened.close()
