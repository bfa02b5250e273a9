"""`regledger audit`: the program's event log as the API answers it, in each output format."""

from __future__ import annotations

from tests.cli.helpers import parse_csv, parse_json


def test_the_audit_lists_events_newest_first_with_filters_and_pages(run, small_program):
    slug, _ = small_program
    table = run("audit", slug, "--student", "ada").output
    assert "Switched ada from K1s1 to K1s2" in table
    assert "Enrolled ada in K1s1" in table
    listed = parse_json(run("audit", slug, "--student", "ada", "--format", "json"))
    events = listed["events"]
    assert [e["event_kind"] for e in events][:2] == ["Section.StudentEnrolled", "Section.StudentUnenrolled"]
    assert {e["student_key"] for e in events} == {"ada"}
    page = parse_json(run("audit", slug, "--limit", "3", "--oldest", "--format", "json"))
    assert page["events"][0]["event_kind"] == "Program.Created"
    following = parse_json(
        run("audit", slug, "--limit", "3", "--oldest", "--after", str(page["next_after"]), "--format", "json")
    )
    assert following["events"][0]["position"] > page["events"][-1]["position"]
    rows = parse_csv(run("audit", slug, "--kind", "SectionRegistered", "--all", "--format", "csv"))[1]
    assert sorted(r["student_key"] for r in rows) == ["ada", "ben"]
    refused = run("audit", slug, "--kind", "NoSuchEvent", code=2)
    assert "No such event kind" in refused.output
