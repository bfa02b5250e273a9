"""Sections named as people say them (`M101s1` with --program, `SLUG/M101s1`) or by id, and
students as `SLUG/KEY`; anything unknown or malformed exits 2 with a clear error."""

from __future__ import annotations

import pytest

from regledger.domain.ids import program_id, section_id, subject_id
from tests.cli.helpers import parse_json, student

PID = program_id("fall")
K1S2 = section_id(subject_id(PID, "K1"), 2)


@pytest.fixture
def seated(season):
    season.app.add_section(PID, "ada", K1S2, student("fall", "ada"))
    return season


@pytest.mark.usefixtures("seated")
@pytest.mark.parametrize(
    "address", [("K1s2", "--program", "fall"), ("fall/K1s2",), ("fall/K1s2", "--program", "fall"), (str(K1S2),)]
)
def test_a_section_is_named_by_code_or_id(run, address):
    roster = parse_json(run("roster", *address, "--format", "json"))
    assert roster["section"]["section_id"] == str(K1S2)
    assert roster["section"]["code"] == "K1s2"
    assert [s["key"] for s in roster["students"]] == ["ada"]
    history = parse_json(run("history", "--section", *address, "--format", "json"))
    assert [i["student_key"] for i in history["intervals"]] == ["ada"]


@pytest.mark.usefixtures("seated")
def test_a_student_is_named_by_slug_and_key(run):
    by_address = parse_json(run("schedule", "fall/ada", "--format", "json"))
    assert by_address == parse_json(run("schedule", "fall", "ada", "--format", "json"))
    assert [r["section_code"] for r in by_address["registrations"]] == ["K1s2"]
    history = parse_json(run("history", "--student", "fall/ada", "--format", "json"))
    assert [i["section_code"] for i in history["intervals"]] == ["K1s2"]


@pytest.mark.usefixtures("season")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("roster", "K1s9", "--program", "fall"), "refused not_found: No section K1s9 in program fall"),
        (("roster", "nope/K1s1"), "refused not_found: No section K1s1 in program nope"),
        (("roster", "00000000-0000-0000-0000-000000000000"), "refused not_found: No section"),
        (("history", "--section", "Z9s1", "--program", "fall"), "refused not_found: No section Z9s1"),
        (("schedule", "fall/nobody"), "refused not_found: No student nobody in program fall"),
        (("schedule", "nope/ada"), "refused not_found: No program nope"),
        (("history", "--student", "fall/nobody"), "refused not_found: No student nobody"),
    ],
)
def test_an_unknown_section_student_or_program_exits_2(run, args, message):
    assert message in run(*args, code=2).output


@pytest.mark.usefixtures("season")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("roster", "K1s1"), "needs --program"),
        (("roster", "fall/K1"), "is not a section"),
        (("roster", "fall/K1s0"), "is not a section"),
        (("roster", "fall/K1s1", "--program", "spring"), "names program 'fall'"),
        (("roster", "fa ll/K1s1"), "program slug must be"),
        (("schedule", "ada"), "a student is SLUG/KEY"),
        (("history", "--student", "fall/"), "a student is SLUG/KEY"),
        (("history", "--student", "fall/a b"), "student key must be"),
    ],
)
def test_a_malformed_address_is_a_usage_error(run, args, message):
    assert message in " ".join(run(*args, code=2).output.split())
