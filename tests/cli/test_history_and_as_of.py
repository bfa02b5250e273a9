"""History shows reasons and wraps at 80 columns; `--as-of` answers, and counts, as of that
instant, read in the program's timezone when it names no offset."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from regledger.domain.ids import program_id, section_id, subject_id
from regledger.domain.values import CommandContext
from tests.cli.helpers import parse_csv, parse_json, student

PID = program_id("fall")
K1S1 = section_id(subject_id(PID, "K1"), 1)
NEW_YORK = ZoneInfo("America/New_York")
LONG_REASON = (
    "the student's guardian called the front desk on Friday afternoon to say the family moves "
    "away before the program starts so every seat goes back to the waitlist in order"
)


def instant():
    """Now, between two commands: their events are stamped before and after it."""
    time.sleep(0.01)
    now = datetime.now(UTC)
    time.sleep(0.01)
    return now


@pytest.fixture
def timeline(season):
    """ada enrolls in K1s1 (one seat), ben joins its waitlist, ada drops (ben is promoted).
    Returns the instants after ben joined (ada enrolled) and after the drop (ben enrolled)."""
    app = season.app
    app.add_section(PID, "ada", K1S1, student("fall", "ada"))
    app.join_waitlist(PID, "ben", K1S1, student("fall", "ben"))
    waiting = instant()
    app.drop_section(PID, "ada", K1S1, CommandContext(actor="admin:desk", reason=LONG_REASON, override=True))
    return waiting, instant()


def column_text(table, header):
    """A table column's cells joined across the lines they wrap onto."""
    heading = next(line for line in table.splitlines() if "┃" in line)
    index = [cell.strip() for cell in heading.split("┃")].index(header)
    pieces = [line.split("│")[index].strip() for line in table.splitlines() if line.startswith("│")]
    return " ".join(piece for piece in pieces if piece)


def test_history_wraps_at_80_columns_and_shows_the_whole_reason_actor_and_times(run, timeline):
    table = run("history", "--student", "fall/ada", columns=80).stdout
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "…" not in table
    assert LONG_REASON in column_text(table, "ended")
    assert "admin:desk" in column_text(table, "ended")
    assert "student:fall/ada" in column_text(table, "started").replace(" ", "")  # folded, not cut
    stamped = column_text(table, "from")
    assert stamped.startswith(f"{datetime.now(NEW_YORK):%Y-%m-%d}")  # local times, to the second
    assert "times in America/New_York" in table


def test_history_exports_start_and_end_reasons(run, timeline):
    _, rows = parse_csv(run("history", "--section", "fall/K1s1", "--format", "csv"))
    ended = next(r for r in rows if r["student_key"] == "ada")
    assert (ended["end_cause"], ended["end_actor"], ended["end_reason"]) == ("drop", "admin:desk", LONG_REASON)
    promoted = [r for r in rows if r["student_key"] == "ben"]
    assert [(r["verb"], r["cause"], r["end_cause"]) for r in promoted] == [
        ("Waitlisted", "fcfs", "promoted"),
        ("Enrolled", "waitlist", ""),
    ]


def test_the_roster_footer_counts_enrolled_as_of_the_instant(run, timeline):
    waiting, after = timeline
    then = run("roster", "fall/K1s1", "--as-of", waiting.isoformat(), "--format", "json")
    assert [s["key"] for s in parse_json(then)["students"]] == ["ada"]
    table = run("roster", "fall/K1s1", "--as-of", waiting.isoformat()).stdout
    assert "1 enrolled as of" in table
    queued = parse_json(
        run("roster", "fall/K1s1", "--as-of", waiting.isoformat(), "--verb", "Waitlisted", "--format", "json")
    )
    assert queued["enrolled"] == 1  # the footer counts seats even when listing the waitlist
    assert [s["key"] for s in queued["students"]] == ["ben"]

    before = run("roster", "fall/K1s1", "--as-of", "2000-01-01T00:00:00Z", "--verb", "Waitlisted").stdout
    assert "0 enrolled as of 1999-12-31T19:00:00-05:00" in before  # shown in the program's zone
    assert [s["key"] for s in parse_json(run("roster", "fall/K1s1", "--format", "json"))["students"]] == ["ben"]
    assert "1/1 enrolled" in run("roster", "fall/K1s1").stdout
    assert parse_json(run("roster", "fall/K1s1", "--as-of", after.isoformat(), "--format", "json"))["enrolled"] == 1


def test_a_local_as_of_is_read_in_the_programs_timezone(run, timeline):
    waiting, _ = timeline
    local = waiting.astimezone(NEW_YORK).replace(tzinfo=None).isoformat()  # no offset, as people type it
    answer = parse_json(run("roster", "fall/K1s1", "--as-of", local, "--format", "json"))
    # Read as UTC it would name an instant five hours earlier, before anyone enrolled.
    assert [s["key"] for s in answer["students"]] == ["ada"]
    assert answer["as_of"] == waiting.astimezone(NEW_YORK).isoformat()
    # An explicit offset wins over the program's zone.
    utc_text = waiting.replace(tzinfo=None).isoformat() + "+00:00"
    assert [
        s["key"] for s in parse_json(run("roster", "fall/K1s1", "--as-of", utc_text, "--format", "json"))["students"]
    ] == ["ada"]
    shifted = waiting.replace(tzinfo=None).isoformat()  # the UTC wall time read in New York: 5 h later
    later = parse_json(run("roster", "fall/K1s1", "--as-of", shifted, "--format", "json"))
    assert [s["key"] for s in later["students"]] == ["ben"]

    history = parse_json(run("history", "--student", "fall/ada", "--as-of", local, "--format", "json"))
    assert [i["verb"] for i in history["intervals"]] == ["Enrolled"]
    schedule = parse_json(run("schedule", "fall/ada", "--as-of", local, "--format", "json"))
    assert [r["section_code"] for r in schedule["registrations"]] == ["K1s1"]


def test_as_of_help_says_a_time_without_offset_is_in_the_programs_zone(run):
    assert "program's timezone" in run("roster", "--help", columns=200).stdout


def test_a_malformed_as_of_is_a_usage_error(run, season):
    result = run("roster", "fall/K1s1", "--as-of", "friday morning", code=2)
    assert "ISO 8601" in result.output
