"""Catalogue reads and names beside ids over HTTP: what a registrar's or a student's screen needs."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from regledger.adapters.http.catalogue_models import ClassesPublic, SectionsPublic
from regledger.adapters.http.responses import CountsPublic

SLUG = "splash"


def get(api: Any, url: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    return api.ok("GET", url, headers=headers, params={"min_position": api.head(), **params})


@pytest.fixture
def season(api: Any, world: Any, profile: Any) -> Any:
    for key in ("ada", "bob"):
        profile(key)
    api.ok(
        "POST",
        f"/programs/{SLUG}/students/ada/registrations",
        headers=api.student("ada"),
        json={"section_id": world.sections["m1a"]},
    )
    api.ok(
        "POST",
        f"/programs/{SLUG}/students/bob/registrations",
        headers=api.student("bob"),
        json={"section_id": world.sections["b2b"]},
    )
    return world


def test_a_program_reads_back_with_settings_windows_and_timeslots(api: Any, season: Any) -> None:
    api.ok("PUT", f"/programs/{SLUG}/windows/classes", json={"opens": "2026-01-01T00:00:00Z", "closes": None})
    program = get(api, f"/programs/{SLUG}")
    assert (program["slug"], program["title"], program["school_year"], program["timezone"]) == (
        SLUG,
        "Splash",
        2027,
        "UTC",
    )
    assert program["settings"]["priority_limit"] == 3
    assert program["windows"] == [{"kind": "classes", "opens": "2026-01-01T00:00:00Z", "closes": None}]
    assert [t["label"] for t in program["timeslots"]] == ["Sat 9:00", "Sat 10:00"]
    assert [p["slug"] for p in get(api, "/programs")["programs"]] == [SLUG]
    assert api.client.get("/programs/nope", headers=api.admin).status_code == 404


def test_sections_answer_codes_names_counts_and_filter(api: Any, season: Any) -> None:
    sections = get(api, f"/programs/{SLUG}/sections")["sections"]
    assert [s["code"] for s in sections] == ["B2s1", "B2s2", "C3s1", "M1s1"]
    m1 = sections[3]
    assert (m1["class_title"], m1["capacity"], m1["enrolled"], m1["free"], m1["waitlisted"]) == ("M1", 1, 1, 0, 0)
    assert [t["label"] for t in m1["timeslots"]] == ["Sat 9:00"]
    free = get(api, f"/programs/{SLUG}/sections", has_free="true", timeslot="Sat 9:00")["sections"]
    assert [s["code"] for s in free] == ["B2s1"]
    page = get(api, f"/programs/{SLUG}/sections", limit=3)
    assert (len(page["sections"]), page["next_after"]) == (3, "C3s1")
    rest = get(api, f"/programs/{SLUG}/sections", after=page["next_after"], limit=3)
    assert ([s["code"] for s in rest["sections"]], rest["next_after"]) == (["M1s1"], None)
    by_code = get(api, f"/programs/{SLUG}/sections/M1s1")
    assert by_code["section_id"] == season.sections["m1a"]
    assert get(api, f"/sections/{season.sections['m1a']}")["code"] == "M1s1"
    assert api.client.get(f"/programs/{SLUG}/sections/M1s9", headers=api.admin).status_code == 404
    bad = api.client.get(f"/programs/{SLUG}/sections", headers=api.admin, params={"limit": 0})
    assert bad.status_code == 422


def test_the_sections_list_exports_as_csv(api: Any, season: Any) -> None:
    for request in (
        {"params": {"format": "csv", "min_position": api.head()}},
        {"params": {"min_position": api.head()}, "headers": {**api.admin, "Accept": "text/csv"}},
    ):
        response = api.client.get(f"/programs/{SLUG}/sections", **{"headers": api.admin, **request})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert (rows[0]["code"], rows[0]["enrolled"], rows[0]["timeslots"]) == ("B2s1", "0", "Sat 9:00")


def test_classes_list_their_sections_and_students_see_accepted_classes_only(api: Any, season: Any) -> None:
    api.ok("PUT", f"/subjects/{season.subjects['C3']}/status", json={"status": "hidden"})
    admin = get(api, f"/programs/{SLUG}/classes")["classes"]
    assert [(c["code"], [s["code"] for s in c["sections"]]) for c in admin] == [
        ("B2", ["B2s1", "B2s2"]),
        ("C3", ["C3s1"]),
        ("M1", ["M1s1"]),
    ]
    student = get(api, f"/programs/{SLUG}/classes", headers=api.student("ada"))["classes"]
    assert [c["code"] for c in student] == ["B2", "M1"]
    hidden = api.client.get(f"/programs/{SLUG}/sections/C3s1", headers=api.student("ada"))
    assert hidden.status_code == 404
    assert get(api, f"/programs/{SLUG}/classes/B2")["title"] == "B2"
    assert [c["code"] for c in get(api, f"/programs/{SLUG}/classes", status="hidden")["classes"]] == ["C3"]
    bad = api.client.get(f"/programs/{SLUG}/classes", headers=api.admin, params={"status": "nope"})
    assert bad.status_code == 422


def test_rosters_schedules_waitlists_and_counts_carry_names(api: Any, season: Any) -> None:
    roster = get(api, f"/sections/{season.sections['m1a']}/roster")
    assert (roster["section_code"], roster["count"], roster["capacity"]) == ("M1s1", 1, 1)
    assert [(e["key"], e["name"], e["verb"]) for e in roster["entries"]] == [("ada", "Ada", "Enrolled")]
    schedule = get(api, f"/programs/{SLUG}/students/ada/schedule", headers=api.student("ada"))
    (entry,) = schedule["entries"]
    assert (entry["section_code"], entry["class_code"], entry["class_title"], entry["section_index"]) == (
        "M1s1",
        "M1",
        "M1",
        1,
    )
    assert [t["label"] for t in entry["timeslots"]] == ["Sat 9:00"]
    counts = get(api, f"/programs/{SLUG}/counts")
    assert {c["code"]: c["taken"] for c in counts["sections"]} == {"B2s1": 0, "B2s2": 1, "C3s1": 0, "M1s1": 1}
    history = get(api, f"/programs/{SLUG}/students/ada/history", headers=api.student("ada"))
    assert [(i["student_key"], i["section_code"]) for i in history["intervals"]] == [("ada", "M1s1")]
    me = get(api, f"/programs/{SLUG}/students/ada", headers=api.student("ada"))
    assert (me["name"], me["grade"]) == ("Ada", 10)
    forbidden = api.client.get(f"/programs/{SLUG}/students/bob", headers=api.student("ada"))
    assert forbidden.status_code == 403


def test_program_rosters_and_students_export_as_csv(api: Any, season: Any) -> None:
    response = api.client.get(
        f"/programs/{SLUG}/rosters", headers=api.admin, params={"format": "csv", "min_position": api.head()}
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["section_code"], r["key"], r["name"], r["verb"]) for r in rows] == [
        ("B2s2", "bob", "Bob", "Enrolled"),
        ("M1s1", "ada", "Ada", "Enrolled"),
    ]
    students = get(api, f"/programs/{SLUG}/students", search="A")
    assert [s["key"] for s in students["students"]] == ["ada"]
    assert api.client.get(f"/programs/{SLUG}/students", headers=api.student("ada")).status_code == 403


def test_a_csv_cell_that_a_spreadsheet_would_run_is_quoted(api: Any, world: Any) -> None:
    api.ok(
        "PUT",
        f"/programs/{SLUG}/students/eve/profile",
        headers=api.student("eve"),
        json={"name": "=HYPERLINK(1)", "graduation_year": 2029},
    )
    api.ok(
        "POST",
        f"/programs/{SLUG}/students/eve/registrations",
        headers=api.student("eve"),
        json={"section_id": world.sections["c3a"]},
    )
    response = api.client.get(
        f"/sections/{world.sections['c3a']}/roster",
        headers=api.admin,
        params={"format": "csv", "min_position": api.head()},
    )
    (row,) = csv.DictReader(io.StringIO(response.text))
    assert row["name"] == "'=HYPERLINK(1)"


def test_stars_with_names_history_and_priority_level(api: Any, season: Any) -> None:
    headers = api.student("bob")
    api.ok("PUT", f"/programs/{SLUG}/students/bob/stars/{season.subjects['C3']}", headers=headers)
    api.ok("DELETE", f"/programs/{SLUG}/students/bob/stars/{season.subjects['C3']}", headers=headers)
    api.ok("PUT", f"/programs/{SLUG}/students/bob/stars/{season.subjects['C3']}", headers=headers)
    stars = get(api, f"/programs/{SLUG}/students/bob/stars", headers=headers)
    assert [(c["code"], c["title"]) for c in stars["classes"]] == [("C3", "C3")]
    history = get(api, f"/programs/{SLUG}/students/bob/stars/history", headers=headers)["stars"]
    assert [(s["code"], s["valid_to"] is None) for s in history] == [("C3", False), ("C3", True)]
    level = get(api, f"/programs/{SLUG}/students/bob/priority-level", headers=headers, timeslot="Sat 10:00")
    assert level["level"] == 0  # bob is enrolled in Sat 10:00
    level = get(api, f"/programs/{SLUG}/students/bob/priority-level", headers=headers, timeslot="Sat 9:00")
    assert (level["level"], level["priority_limit"]) == (1, 3)
    unknown = api.client.get(
        f"/programs/{SLUG}/students/bob/priority-level", headers=headers, params={"timeslot": "Sun 9:00"}
    )
    assert unknown.status_code == 404


def test_a_registration_is_created_201_and_a_replay_answers_200(api: Any, world: Any, profile: Any) -> None:
    profile("ada")
    url, body = f"/programs/{SLUG}/students/ada/registrations", {"section_id": world.sections["c3a"]}
    headers = {**api.student("ada"), "Idempotency-Key": "add-c3a"}
    first = api.client.post(url, headers=headers, json=body)
    again = api.client.post(url, headers=headers, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replayed"] is True


def test_a_drop_takes_its_reason_in_the_body(api: Any, world: Any, profile: Any) -> None:
    profile("ada")
    api.ok("POST", f"/programs/{SLUG}/students/ada/registrations", json={"section_id": world.sections["c3a"]})
    dropped = api.client.request(
        "DELETE",
        f"/programs/{SLUG}/students/ada/registrations/{world.sections['c3a']}",
        headers=api.admin,
        json={"reason": "asked at the desk", "override": True},
    )
    assert dropped.status_code == 200, dropped.text
    history = get(api, f"/sections/{world.sections['c3a']}/history")["intervals"]
    assert (history[0]["end_reason"], history[0]["end_actor"]) == ("asked at the desk", "admin:alice")
    both = api.client.request(
        "DELETE",
        f"/programs/{SLUG}/students/ada/registrations/{world.sections['c3a']}",
        headers=api.admin,
        params={"reason": "query"},
        json={"reason": "body"},
    )
    assert (both.status_code, both.json()["code"]) == (422, "invalid_input")


def test_a_class_or_section_without_capacity_is_created_with_a_warning(api: Any, world: Any) -> None:
    created = api.ok("POST", f"/programs/{SLUG}/subjects", json={"code": "Z0", "title": "No size"})
    assert "class_size_max" in created["warnings"][0]
    section = api.ok(
        "POST", f"/subjects/{created['ids']['subject_id']}/sections", json={"timeslot_ids": [world.timeslots[0]]}
    )
    assert "capacity is 0" in section["warnings"][0]
    sized = api.ok("POST", f"/programs/{SLUG}/subjects", json={"code": "Z1", "title": "Sized", "class_size_max": 9})
    assert sized["warnings"] == []


def test_a_csv_export_holds_every_row_unless_limited(api: Any, season: Any) -> None:
    def rows(**params: Any) -> list[dict[str, str]]:
        response = api.client.get(
            f"/programs/{SLUG}/sections",
            headers=api.admin,
            params={"format": "csv", "min_position": api.head(), **params},
        )
        return list(csv.DictReader(io.StringIO(response.text)))

    assert len(rows()) == 4
    assert [r["code"] for r in rows(limit=2)] == ["B2s1", "B2s2"]


def test_a_program_takes_a_timezone_and_refuses_an_unknown_one(api: Any) -> None:
    body = {"slug": "tz", "title": "TZ", "school_year": 2027, "settings": {"timezone": "America/New_York"}}
    api.ok("POST", "/programs", json=body)
    assert get(api, "/programs/tz")["timezone"] == "America/New_York"
    bad = api.client.put("/programs/tz/settings", headers=api.admin, json={"timezone": "Mars/Olympus"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")
    api.ok("PUT", "/programs/tz/settings", json={"timezone": "Europe/Paris"})
    assert get(api, "/programs/tz")["timezone"] == "Europe/Paris"


def test_a_class_changes_its_details_and_its_sections_follow_its_size(api: Any, season: Any) -> None:
    b2 = season.subjects["B2"]
    changed = api.ok("PATCH", f"/subjects/{b2}", json={"title": "Bridges", "class_size_max": 3, "reason": "room"})
    assert changed["ids"]["resized_sections"] == "2"
    view = get(api, f"/programs/{SLUG}/classes/B2")
    assert (view["title"], view["class_size_max"]) == ("Bridges", 3)
    assert [s["capacity"] for s in view["sections"]] == [3, 3]
    # B2s2 holds bob's seat: a size of 0 would overfill it, so the whole change is refused.
    head = api.head()
    refused = api.client.patch(f"/subjects/{b2}", headers=api.admin, json={"class_size_max": 0, "title": "Gone"})
    assert (refused.status_code, refused.json()["code"]) == (409, "capacity_below_enrolled")
    assert api.head() == head
    same = api.ok("PATCH", f"/subjects/{b2}", json={"title": "Bridges"})
    assert (same["ids"]["resized_sections"], api.head()) == ("0", head)
    bad = api.client.patch(f"/subjects/{b2}", headers=api.admin, json={"grade_min": 12, "grade_max": 9})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")


def test_a_section_is_addressed_by_its_code_wherever_a_path_takes_one(api: Any, season: Any) -> None:
    by_id = get(api, f"/sections/{season.sections['m1a']}/roster")
    by_code = get(api, f"/programs/{SLUG}/sections/M1s1/roster")
    assert by_code == by_id
    history = get(api, f"/programs/{SLUG}/sections/M1s1/history")["intervals"]
    assert [i["student_key"] for i in history] == ["ada"]
    assert get(api, f"/programs/{SLUG}/sections/M1s1/waitlist")["section_code"] == "M1s1"
    assert get(api, f"/programs/{SLUG}/sections/M1s1/interest")["section_id"] == season.sections["m1a"]
    resized = api.ok("PUT", f"/programs/{SLUG}/sections/C3s1/capacity", json={"max_class_capacity": 7})
    assert resized["outcome"] == "CapacityChanged"
    assert get(api, f"/sections/{season.sections['c3a']}")["capacity"] == 7
    api.ok("POST", f"/programs/{SLUG}/sections/C3s1/close", json={"reason": "room flooded"})
    assert get(api, f"/programs/{SLUG}/sections/C3s1")["is_open"] is False
    for url in (f"/programs/{SLUG}/sections/C3s9/roster", "/programs/nope/sections/C3s1/roster"):
        response = api.client.get(url, headers=api.admin)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    head = api.head()
    missing = api.client.post(f"/programs/{SLUG}/sections/C3s9/open", headers=api.admin)
    assert (missing.status_code, api.head()) == (404, head)


def test_a_student_drops_a_section_by_its_code(api: Any, season: Any) -> None:
    dropped = api.client.request(
        "DELETE", f"/programs/{SLUG}/students/ada/registrations/M1s1", headers=api.student("ada")
    )
    assert dropped.status_code == 200, dropped.text
    assert get(api, f"/programs/{SLUG}/sections/M1s1")["enrolled"] == 0
    unknown = api.client.request("DELETE", f"/programs/{SLUG}/students/ada/registrations/nope", headers=api.admin)
    assert unknown.status_code == 404


def test_a_command_takes_its_reason_from_the_x_reason_header(api: Any, season: Any) -> None:
    csv_body = "code,title,class_size_max\nN1,Nets,4\n"
    headers = {**api.admin, "Content-Type": "text/csv", "X-Reason": "spring catalogue"}
    imported = api.client.post(f"/programs/{SLUG}/catalogue", headers=headers, content=csv_body)
    assert imported.status_code == 201, imported.text
    events = api.services.app.recorder.select_notifications(api.head(), 1)
    assert api.services.app.mapper.to_domain_event(events[0]).reason == "spring catalogue"
    both = api.client.request(
        "DELETE",
        f"/programs/{SLUG}/students/ada/registrations/M1s1",
        headers={**api.admin, "X-Reason": "header"},
        json={"reason": "body"},
    )
    assert (both.status_code, both.json()["code"]) == (422, "invalid_input")


def test_lists_answer_exactly_their_documented_models(api: Any, season: Any) -> None:
    sections = get(api, f"/programs/{SLUG}/sections", limit=2)
    assert SectionsPublic.model_validate(sections).model_dump(mode="json") == sections
    classes = get(api, f"/programs/{SLUG}/classes", limit=2)
    assert ClassesPublic.model_validate(classes).model_dump(mode="json") == classes
    assert classes["next_after"] == "C3"  # the last class of the page
    counts = get(api, f"/programs/{SLUG}/counts")
    assert CountsPublic.model_validate(counts).model_dump(mode="json") == counts


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("students", {"search": "a\x00b"}),
        ("sections", {"after": "M\x00"}),
        ("classes", {"after": "\x00"}),
    ],
)
def test_a_control_character_in_a_listing_parameter_is_a_422(api: Any, world: Any, path: str, params: Any) -> None:
    response = api.client.get(f"/programs/{SLUG}/{path}", headers=api.admin, params=params)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_input")
