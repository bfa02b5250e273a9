"""The ESP workflows over HTTP: the program's grade gate, replace on conflict, the waitlist."""

from __future__ import annotations

from tests.http.test_errors import _refused

STUDENT = "/programs/splash/students"


def test_a_student_outside_the_programs_grades_is_refused_and_an_admin_may_override(api, world, profile):
    profile("young", graduation_year=2033)  # grade 6 in school year 2027; the program is 7-12
    body = {"section_id": world.sections["b2a"]}
    response = _refused(
        api, "POST", f"{STUDENT}/young/registrations", 409, "program_grade_out_of_range",
        json=body, headers=api.student("young"),
    )  # fmt: skip
    assert response.json()["message"] == "This program is only open to students in grades 7 to 12."
    api.ok("POST", f"{STUDENT}/young/registrations", json={**body, "override": True, "reason": "director's call"})


def test_replace_drops_the_conflict_and_adds_in_one_request(api, world, profile):
    profile("s1")
    me = api.student("s1")
    api.ok("POST", f"{STUDENT}/s1/registrations", headers=me, json={"section_id": world.sections["m1a"]})
    _refused(
        api, "POST", f"{STUDENT}/s1/registrations", 409, "timeslot_conflict",
        json={"section_id": world.sections["b2a"]}, headers=me,
    )  # fmt: skip
    result = api.ok(
        "POST", f"{STUDENT}/s1/registrations", headers=me, json={"section_id": world.sections["b2a"], "replace": True}
    )
    assert result["ids"]["replaced"] == world.sections["m1a"]
    schedule = api.ok("GET", f"{STUDENT}/s1/schedule", headers=me, params={"min_position": result["position"]})
    assert [entry["section_id"] for entry in schedule["entries"]] == [world.sections["b2a"]]


def test_a_capacity_raise_promotes_the_waitlist_before_anyone_else(api, world, profile):
    api.ok("PUT", "/programs/splash/settings", json={"waitlist_enabled": True})
    for key in ("a", "b", "c"):
        profile(key)
    api.ok("POST", f"{STUDENT}/a/registrations", headers=api.student("a"), json={"section_id": world.sections["m1a"]})
    api.ok("POST", f"{STUDENT}/b/waitlist", headers=api.student("b"), json={"section_id": world.sections["m1a"]})
    raised = api.ok("PUT", f"/sections/{world.sections['m1a']}/capacity", json={"max_class_capacity": 2})
    assert raised["ids"]["promoted"] == "b"
    _refused(
        api, "POST", f"{STUDENT}/c/registrations", 409, "section_full",
        json={"section_id": world.sections["m1a"]}, headers=api.student("c"),
    )  # fmt: skip


def test_the_waitlist_says_why_a_queued_student_was_passed_over(api, world, profile):
    """b queues for m1a but holds b2a in the same slot: a freed seat passes b over for c."""
    api.ok("PUT", "/programs/splash/settings", json={"waitlist_enabled": True})
    for key in ("a", "b", "c"):
        profile(key)
    m1a = world.sections["m1a"]
    api.ok("POST", f"{STUDENT}/a/registrations", headers=api.student("a"), json={"section_id": m1a})
    api.ok("POST", f"{STUDENT}/b/waitlist", headers=api.student("b"), json={"section_id": m1a})
    api.ok("POST", f"{STUDENT}/c/waitlist", headers=api.student("c"), json={"section_id": m1a})
    api.ok("POST", f"{STUDENT}/b/registrations", headers=api.student("b"), json={"section_id": world.sections["b2a"]})
    dropped = api.ok("DELETE", f"{STUDENT}/a/registrations/{m1a}", headers=api.student("a"))
    assert dropped["ids"]["promoted"] == "c"
    queue = api.ok("GET", f"/sections/{m1a}/waitlist", params={"min_position": dropped["position"]})
    (entry,) = queue["entries"]
    assert (entry["key"], entry["place"]) == ("b", 1)
    assert entry["passed_over"]["code"] == "timeslot_conflict"
    assert entry["passed_over"]["message"] == "This class conflicts with your schedule!"
    assert entry["since"] <= entry["passed_over"]["at"]


def test_the_class_change_window_can_be_set_over_http(api, world):
    body = {"opens": "2026-11-22T09:00:00Z", "closes": "2026-11-23T09:00:00Z"}
    api.ok("PUT", "/programs/splash/windows/class_change", json=body)
    windows = api.ok("GET", "/programs/splash")["windows"]
    assert [w["kind"] for w in windows if w["kind"] == "class_change"] == ["class_change"]


def test_an_admin_unenrolls_a_student_from_everything_with_a_reason(api, world, profile):
    profile("s1")
    me = api.student("s1")
    for section in ("m1a", "c3a"):
        api.ok("POST", f"{STUDENT}/s1/registrations", headers=me, json={"section_id": world.sections[section]})
    _refused(api, "DELETE", f"{STUDENT}/s1/registrations", 403, "forbidden", headers=me)  # admins only
    _refused(api, "DELETE", f"{STUDENT}/s1/registrations", 422, "invalid_input")  # no reason
    done = api.ok("DELETE", f"{STUDENT}/s1/registrations", headers={**api.admin, "X-Reason": "left at noon"})
    assert (done["ids"]["ended"], done["ids"]["sections"]) == ("2", "2")
    schedule = api.ok("GET", f"{STUDENT}/s1/schedule", params={"min_position": done["position"]})
    assert schedule["entries"] == []


def test_a_batch_registration_reports_each_student(api, world, profile):
    for key in ("a", "b", "c"):
        profile(key)
    api.ok("POST", f"{STUDENT}/b/registrations", headers=api.student("b"), json={"section_id": world.sections["b2a"]})
    url = f"/sections/{world.sections['m1a']}/batch-registrations"  # M1: one seat, at b2a's time
    _refused(api, "POST", url, 403, "forbidden", json={"student_keys": ["a"]}, headers=api.student("a"))
    body = api.ok("POST", url, json={"student_keys": ["a", "b", "c"], "reason": "walk-ins"})
    assert [(o["student_key"], o["status"], o["code"]) for o in body["outcomes"]] == [
        ("a", "ok", ""),
        ("b", "conflict", "timeslot_conflict"),
        ("c", "full", "section_full"),
    ]
    assert body["counts"] == {"ok": 1, "conflict": 1, "full": 1}
    again = api.ok("POST", url, json={"student_keys": ["c"], "override_capacity": True, "reason": "extra chairs"})
    assert again["outcomes"][0]["status"] == "ok"


def test_check_in_and_attendance_on_the_day(api, world, profile):
    profile("s1")
    api.ok("POST", f"{STUDENT}/s1/registrations", headers=api.student("s1"), json={"section_id": world.sections["m1a"]})
    _refused(api, "POST", f"{STUDENT}/s1/check-in", 403, "forbidden", headers=api.student("s1"))
    checked = api.ok("POST", f"{STUDENT}/s1/check-in")
    student = api.ok("GET", f"{STUDENT}/s1", params={"min_position": checked["position"]})
    assert student["checked_in_at"] is not None
    url = f"/sections/{world.sections['m1a']}/attendance"
    marked = api.ok("POST", url, json={"student_key": "s1"})
    present = api.ok("GET", url, params={"min_position": marked["position"]})
    assert [s["key"] for s in present["students"]] == ["s1"]
    yesterday = api.ok("GET", url, params={"day": "2020-01-01"})
    assert yesterday["students"] == []
    undone = api.ok("DELETE", f"{STUDENT}/s1/check-in", headers={**api.admin, "X-Reason": "wrong student"})
    student = api.ok("GET", f"{STUDENT}/s1", params={"min_position": undone["position"]})
    assert student["checked_in_at"] is None


def test_no_shows_are_previewed_swept_and_undone(api, world, profile):
    for key in ("s1", "s2"):
        profile(key)
        api.ok(
            "POST",
            f"{STUDENT}/{key}/registrations",
            headers=api.student(key),
            json={"section_id": world.sections["b2a"]},
        )
    api.ok("POST", f"{STUDENT}/s2/check-in")
    url = "/programs/splash/no-shows"
    head = api.head()
    preview = api.ok("POST", url, json={"timeslot": "Sat 9:00", "preview": True, "reason": "9:15"})
    assert (preview["done"], preview["removed"]) == (False, {"s1": [world.sections["b2a"]]})
    assert api.head() == head
    swept = api.ok("POST", url, json={"timeslot": "Sat 9:00", "reason": "9:15"})
    assert swept["done"]
    undone = api.ok("POST", f"/programs/splash/no-show-sweeps/{swept['sweep_id']}/undo", json={"reason": "late bus"})
    assert undone["not_restored"] == {}
    _refused(api, "POST", f"/programs/splash/no-show-sweeps/{swept['sweep_id']}/undo", 409, "sweep_undone",
             json={"reason": "twice"})  # fmt: skip


def test_a_batch_chooses_its_students_by_filter(api, world, profile):
    for key, year in (("nine", 2030), ("ten", 2029), ("twelve", 2027), ("busy", 2030)):
        profile(key, graduation_year=year)
        api.ok("POST", f"{STUDENT}/{key}/check-in")
    profile("absent", graduation_year=2030)
    busy = api.student("busy")
    head = api.ok("POST", f"{STUDENT}/busy/registrations", headers=busy, json={"section_id": world.sections["c3a"]})
    url = f"/sections/{world.sections['b2b']}/batch-registrations"  # Sat 10:00, as c3a
    chosen = {"checked_in": True, "grade_min": 9, "grade_max": 10, "free_in_timeslot": "Sat 10:00"}
    api.ok("GET", "/programs/splash/students", params={"min_position": head["position"]})
    body = api.ok("POST", url, json={"filter": chosen, "reason": "grades 9-10 free at 10"})
    assert sorted(o["student_key"] for o in body["outcomes"]) == ["nine", "ten"]
    _refused(api, "POST", url, 422, "invalid_input", json={"filter": chosen, "student_keys": ["ten"], "reason": "x"})
