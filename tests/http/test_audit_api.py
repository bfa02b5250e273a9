"""The audit log over HTTP, on SQLite and PostgreSQL: filters, keyset pages, CSV, admins only."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.http.test_errors import _refused

STUDENT = "/programs/splash/students"
AUDIT = "/programs/splash/audit"


def _season(api: Any, world: Any, profile: Any) -> int:
    """s1 enrols in m1a and drops it with a reason; s2 enrols in b2a; returns the last position."""
    profile("s1")
    profile("s2")
    m1a, b2a = world.sections["m1a"], world.sections["b2a"]
    api.ok("POST", f"{STUDENT}/s1/registrations", headers=api.student("s1"), json={"section_id": m1a})
    api.ok("POST", f"{STUDENT}/s2/registrations", headers=api.student("s2"), json={"section_id": b2a})
    dropped = api.ok("DELETE", f"{STUDENT}/s1/registrations/{m1a}", headers={**api.admin, "X-Reason": "moved away"})
    return int(dropped["position"])


def test_the_audit_shows_who_did_what_with_names_and_reasons(api, world, profile):
    head = _season(api, world, profile)
    page = api.ok("GET", AUDIT, params={"min_position": head, "student": "s1"})
    kinds = [e["event_kind"] for e in page["entries"]]
    # Newest first: the drop, then the enrolment, then the profile and the registration.
    assert kinds[:2] == ["Section.StudentUnenrolled", "Student.RegistrationEnded"]
    assert "Student.SectionRegistered" in kinds
    assert kinds[-1] == "Student.Registered"
    positions = [e["position"] for e in page["entries"]]
    assert positions == sorted(positions, reverse=True)
    ended = page["entries"][1]
    assert ended["reason"] == "moved away"
    assert ended["actor"] == "admin:alice"
    assert (ended["student_key"], ended["student_name"], ended["section_code"]) == ("s1", "S1", "M1s1")
    assert ended["class_title"] == "M1"
    enrolled = next(e for e in page["entries"] if e["event_kind"] == "Student.SectionRegistered")
    assert enrolled["summary"] == "Enrolled s1 in M1s1"
    assert enrolled["actor"] == "student:splash/s1"
    assert page["next_after"] is None
    assert {e["student_key"] for e in page["entries"]} == {"s1"}


def test_filters_combine_section_kind_actor_and_time(api, world, profile):
    head = _season(api, world, profile)
    by_section = api.ok("GET", AUDIT, params={"min_position": head, "section": "B2s1"})["entries"]
    assert {e["section_code"] for e in by_section} == {"B2s1"}
    assert {e["student_key"] for e in by_section if e["student_key"]} == {"s2"}
    enrolments = api.ok("GET", AUDIT, params={"kind": "StudentEnrolled"})["entries"]
    assert sorted(e["student_key"] for e in enrolments) == ["s1", "s2"]
    both = api.ok("GET", AUDIT, params=[("kind", "Section.StudentEnrolled"), ("kind", "Student.RegistrationEnded")])
    assert {e["event_kind"] for e in both["entries"]} == {"Section.StudentEnrolled", "Student.RegistrationEnded"}
    mine = api.ok("GET", AUDIT, params={"actor": "student:splash/s2"})["entries"]
    assert {e["student_key"] for e in mine} == {"s2"}
    everything = api.ok("GET", AUDIT, params={"order": "oldest", "limit": 1000})["entries"]
    assert everything[0]["event_kind"] == "Program.Created"
    middle = everything[len(everything) // 2]["recorded_at"]
    later = api.ok("GET", AUDIT, params={"since": middle, "limit": 1000})["entries"]
    assert later
    assert all(e["recorded_at"] >= middle for e in later)
    earlier = api.ok("GET", AUDIT, params={"until": middle, "limit": 1000})["entries"]
    assert earlier
    assert all(e["recorded_at"] < middle for e in earlier)
    assert len(later) + len(earlier) == len(everything)
    assert api.ok("GET", AUDIT, params={"student": "nobody"})["entries"] == []


def test_pages_follow_each_other_by_position_in_either_order(api, world, profile):
    _season(api, world, profile)
    whole = [e["position"] for e in api.ok("GET", AUDIT, params={"limit": 1000})["entries"]]
    assert len(whole) > 12
    for order, expected in (("newest", whole), ("oldest", whole[::-1])):
        seen: list[int] = []
        after = None
        while True:
            params: dict[str, Any] = {"limit": 5, "order": order}
            if after is not None:
                params["after"] = after
            page = api.ok("GET", AUDIT, params=params)
            seen += [e["position"] for e in page["entries"]]
            after = page["next_after"]
            if after is None:
                break
            assert len(page["entries"]) == 5
        assert seen == expected


def test_the_audit_exports_as_csv(api, world, profile):
    head = _season(api, world, profile)
    response = api.client.get(AUDIT, headers={**api.admin, "Accept": "text/csv"}, params={"min_position": head})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="audit-splash.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    json_rows = api.ok("GET", AUDIT, params={"limit": 1000})["entries"]
    assert [int(r["position"]) for r in rows] == [e["position"] for e in json_rows]  # the whole log
    dropped = next(r for r in rows if r["event_kind"] == "Student.RegistrationEnded")
    assert (dropped["student_key"], dropped["section_code"], dropped["reason"]) == ("s1", "M1s1", "moved away")
    page = api.client.get(AUDIT, headers=api.admin, params={"format": "csv", "limit": 3, "kind": "Registered"})
    assert [r["event_kind"] for r in csv.DictReader(io.StringIO(page.text))] == ["Student.Registered"] * 2


def test_only_admins_read_the_audit_and_bad_filters_are_refused(api, world, profile):
    _season(api, world, profile)
    _refused(api, "GET", AUDIT, 403, "forbidden", headers=api.student("s1"))
    _refused(api, "GET", f"{AUDIT}?kind=NoSuchEvent", 422, "invalid_input")
    _refused(api, "GET", f"{AUDIT}?section=nocode", 422, "invalid_input")
    _refused(api, "GET", f"{AUDIT}?limit=1001", 422, "invalid_input")
    _refused(api, "GET", f"{AUDIT}?actor=a%00b", 422, "invalid_input")
    _refused(api, "GET", f"{AUDIT}?since=2026-13-01T00:00", 422, "invalid_input")
    _refused(api, "GET", "/programs/nowhere/audit", 404, "not_found")
