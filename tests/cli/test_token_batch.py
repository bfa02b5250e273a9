"""`regledger token create-batch`: a program's student tokens as CSV on stdout, all or nothing."""

from __future__ import annotations

import csv
import io

import pytest
from typer.testing import CliRunner

from regledger.adapters.auth import build_token_store
from regledger.adapters.bootstrap import build_application
from regledger.adapters.cli import cli
from regledger.domain.values import CommandContext

SLUG = "splash"


@pytest.fixture
def program(sqlite_settings):
    sqlite_settings.prepare()
    app = build_application(sqlite_settings)
    try:
        app.create_program(SLUG, "Splash", CommandContext(actor="admin:test"), school_year=2027)
    finally:
        app.close()
    return SLUG


@pytest.fixture
def tokens(sqlite_settings):
    store = build_token_store(sqlite_settings)
    yield store
    store.close()


@pytest.fixture
def run(sqlite_settings):
    env = {"REGLEDGER_STORE": "sqlite", "REGLEDGER_SQLITE_PATH": str(sqlite_settings.sqlite_path), "COLUMNS": "200"}

    def invoke(*args: str, code: int = 0, stdin: bytes | None = None):
        result = CliRunner().invoke(cli, ["token", *args], env=env, input=stdin)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return invoke


def _rows(stdout: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(stdout, newline=""))
    assert reader.fieldnames == ["student_key", "token_id", "token"]
    return list(reader)


def _assert_each_acts_as_its_student(tokens, rows):
    for row in rows:
        principal = tokens.lookup(row["token"])
        assert principal is not None
        assert principal.subject == f"{SLUG}/{row['student_key']}"
        assert f"rl_{principal.token_id}" == row["token_id"]


def test_keys_given_on_the_command_line_become_tokens_printed_once_as_csv(run, program, tokens):
    result = run("create-batch", "--program", SLUG, "--key", "ada", "--key", "ben")

    rows = _rows(result.stdout)
    assert [r["student_key"] for r in rows] == ["ada", "ben"]
    _assert_each_acts_as_its_student(tokens, rows)
    assert "created 2 student tokens for splash" in result.stderr
    assert all(r["token"] not in result.stderr for r in rows)


@pytest.mark.parametrize(
    "content",
    [
        "\ufeffada\r\n\r\nben\ncy\n",  # a byte-order mark, CRLF and blank lines
        "name,student_key,grade\nAda,ada,9\nBen, ben ,10\n\nCy,cy,11\n",  # a CSV with a student_key column
        "key,name,graduation_year\nada,Ada,2029\nben,Ben,2030\ncy,Cy,2028\n",  # the students import's file
    ],
    ids=["one-per-line", "csv-column", "students-import-file"],
)
def test_a_keys_file_is_one_key_per_line_or_a_csv_with_a_student_key_column(run, program, tokens, tmp_path, content):
    keys_file = tmp_path / "keys.csv"
    keys_file.write_bytes(content.encode())

    rows = _rows(run("create-batch", "--program", SLUG, "--keys-file", str(keys_file)).stdout)

    assert [r["student_key"] for r in rows] == ["ada", "ben", "cy"]
    _assert_each_acts_as_its_student(tokens, rows)


def test_keys_are_read_from_stdin_with_a_dash(run, program, tokens):
    rows = _rows(run("create-batch", "--program", SLUG, "--keys-file", "-", stdin=b"ada\nben\n").stdout)

    assert [r["student_key"] for r in rows] == ["ada", "ben"]


@pytest.mark.slow
def test_3000_keys_from_a_file(run, program, tokens, tmp_path):
    keys = [f"s{i:05}" for i in range(3000)]
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("\n".join(keys) + "\n")

    rows = _rows(run("create-batch", "--program", SLUG, "--keys-file", str(keys_file)).stdout)

    assert [r["student_key"] for r in rows] == keys
    _assert_each_acts_as_its_student(tokens, rows[::300])
    assert len(tokens.list(program=SLUG)) == 3000


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"ada\nben\nbad key\ncy\n", "line 3: student_key must be 1-64 characters"),
        (b"ada\nben\nada\n", "line 3: ada repeats line 1"),
        (b"ada,ben\n", "line 1: expected one key per line, or a CSV with a student_key column"),
        (b"name,student_key\nAda,ada\nBen\n", "line 3: student_key must be"),
        (b"ada\nb\xe9n\n", "line 2: not UTF-8 text"),
        (b"ada\n" + b"x" * 1_000_000 + b"\n", "line 2: field larger than field limit"),
        (b"\n\n", "no student keys"),
    ],
    ids=["bad-key", "repeated", "two-columns", "missing-column", "latin-1", "1MB-line", "empty"],
)
def test_a_keys_file_with_any_problem_creates_nothing(run, program, tokens, tmp_path, content, problem):
    keys_file = tmp_path / "keys.csv"
    keys_file.write_bytes(content)

    result = run("create-batch", "--program", SLUG, "--keys-file", str(keys_file), code=2)

    assert problem in " ".join(result.stderr.split())
    assert result.stdout == ""
    assert tokens.list() == []


def test_a_bad_key_on_the_command_line_creates_nothing(run, program, tokens):
    result = run("create-batch", "--program", SLUG, "--key", "ada", "--key", "b/n", code=2)

    assert "--key #2: student_key must be" in result.stderr
    assert tokens.list() == []


def test_an_unknown_program_is_refused_and_creates_nothing(run, program, tokens):
    result = run("create-batch", "--program", "nope", "--key", "ada", code=2)

    assert "refused not_found" in result.stderr
    assert tokens.list() == []


@pytest.mark.parametrize("args", [(), ("--key", "ada", "--keys-file", "-")], ids=["neither", "both"])
def test_keys_come_from_a_file_or_the_command_line_not_both(run, program, tokens, args):
    result = run("create-batch", "--program", SLUG, *args, code=2)

    assert "--keys-file or --key" in result.stderr
    assert tokens.list() == []


def test_revoke_existing_replaces_a_students_earlier_tokens(run, program, tokens):
    [old_ada, old_ben] = _rows(run("create-batch", "--program", SLUG, "--key", "ada", "--key", "ben").stdout)

    result = run("create-batch", "--program", SLUG, "--key", "ada", "--revoke-existing")

    [new_ada] = _rows(result.stdout)
    assert "revoked 1 earlier ones" in result.stderr
    assert tokens.lookup(old_ada["token"]) is None
    assert tokens.lookup(new_ada["token"]) is not None
    assert tokens.lookup(old_ben["token"]) is not None
