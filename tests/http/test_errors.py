"""Refusals over HTTP: one error shape, the rule's code, the right status, nothing written."""

from __future__ import annotations

import threading
from uuid import UUID, uuid4

import pytest

from regledger.domain.ids import SectionId, program_id
from regledger.domain.values import CommandContext

STUDENT = "/programs/splash/students/s1"


def _refused(api, method, url, status, code, *, json=None, headers=None):
    before = api.head()
    response = api.client.request(method, url, json=json, headers=headers or api.admin)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["detail"], dict)
    assert api.head() == before, "a refused command wrote events"
    return response


def test_not_found_is_404(api, world, profile):
    profile("s1")
    me = api.student("s1")
    _refused(
        api,
        "POST",
        "/programs/nowhere/timeslots",
        404,
        "not_found",
        json={"label": "x", "start": "2026-11-21T09:00:00Z", "end": "2026-11-21T10:00:00Z"},
    )
    _refused(api, "POST", f"{STUDENT}/registrations", 404, "not_found", json={"section_id": str(uuid4())}, headers=me)
    _refused(api, "PUT", f"/subjects/{uuid4()}/status", 404, "not_found", json={"status": "accepted"})
    _refused(api, "DELETE", f"/programs/splash/constraints/{uuid4()}", 404, "not_found")
    response = _refused(api, "GET", "/no/such/path", 404, "not_found")
    assert response.json()["detail"] == {}


def test_an_existing_program_slug_is_refused(api, world):
    response = _refused(
        api, "POST", "/programs", 409, "already_exists", json={"slug": "splash", "title": "Again", "school_year": 2027}
    )
    assert response.json()["detail"] == {"slug": "splash"}


def test_a_full_section_is_refused_with_the_programs_message(api, world, profile):
    profile("s1")
    profile("s2")
    api.ok("POST", f"{STUDENT}/registrations", headers=api.student("s1"), json={"section_id": world.sections["m1a"]})
    response = _refused(
        api,
        "POST",
        "/programs/splash/students/s2/registrations",
        409,
        "section_full",
        json={"section_id": world.sections["m1a"]},
        headers=api.student("s2"),
    )
    assert response.json()["message"] == "Class temporarily full; please check back later"
    assert response.json()["detail"]["capacity"] == 1


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [("b2a", "b2b", "already_in_class"), ("b2a", "m1a", "timeslot_conflict")],
)
def test_schedule_conflicts_are_refused(api, world, profile, first, second, code):
    profile("s1")
    me = api.student("s1")
    api.ok("POST", f"{STUDENT}/registrations", headers=me, json={"section_id": world.sections[first]})
    _refused(
        api, "POST", f"{STUDENT}/registrations", 409, code, json={"section_id": world.sections[second]}, headers=me
    )


def test_registering_without_a_profile_is_refused(api, world):
    _refused(
        api,
        "POST",
        f"{STUDENT}/registrations",
        409,
        "profile_required",
        json={"section_id": world.sections["b2a"]},
        headers=api.student("s1"),
    )


def test_a_closed_window_is_refused_and_an_admin_override_with_a_reason_passes(api, world, profile):
    profile("s1")
    api.ok(
        "PUT",
        "/programs/splash/windows/classes",
        json={"opens": "2000-01-01T00:00:00Z", "closes": "2000-01-02T00:00:00Z"},
    )
    response = _refused(
        api,
        "POST",
        f"{STUDENT}/registrations",
        409,
        "window_closed",
        json={"section_id": world.sections["b2a"]},
        headers=api.student("s1"),
    )
    assert response.json()["detail"]["kind"] == "classes"
    body = api.ok(
        "POST",
        f"{STUDENT}/registrations",
        json={"section_id": world.sections["b2a"], "override": True, "reason": "late add"},
    )
    assert body["outcome"] == "SectionRegistered"


def test_grade_and_class_status_rules_are_refused(api, world, profile):
    profile("s1", graduation_year=2030)  # grade 9: in the program (7-12), not in the class (10-12)
    api.ok("PATCH", f"/subjects/{world.subjects['B2']}", json={"grade_min": 10})
    _refused(
        api,
        "POST",
        f"{STUDENT}/registrations",
        409,
        "grade_out_of_range",
        json={"section_id": world.sections["b2a"]},
        headers=api.student("s1"),
    )
    profile("s2")
    api.ok("PUT", f"/subjects/{world.subjects['B2']}/status", json={"status": "unreviewed"})
    _refused(
        api,
        "POST",
        "/programs/splash/students/s2/registrations",
        409,
        "class_not_accepted",
        json={"section_id": world.sections["b2a"]},
        headers=api.student("s2"),
    )


def test_cancelled_and_closed_sections_are_refused(api, world, profile):
    profile("s1")
    me = api.student("s1")
    api.ok("POST", f"/sections/{world.sections['b2a']}/close", json={"reason": "room change"})
    _refused(
        api,
        "POST",
        f"{STUDENT}/registrations",
        409,
        "registration_closed",
        json={"section_id": world.sections["b2a"]},
        headers=me,
    )
    api.ok("POST", f"/sections/{world.sections['c3a']}/cancel")
    _refused(api, "POST", f"/sections/{world.sections['c3a']}/cancel", 409, "section_cancelled")
    _refused(
        api,
        "POST",
        f"{STUDENT}/registrations",
        409,
        "section_cancelled",
        json={"section_id": world.sections["c3a"], "verb": "Applied"},
        headers=me,
    )


def test_drop_switch_and_waitlist_refusals(api, world, profile):
    profile("s1")
    me = api.student("s1")
    _refused(api, "DELETE", f"{STUDENT}/registrations/{world.sections['b2a']}", 409, "not_registered", headers=me)
    api.ok("POST", f"{STUDENT}/registrations", headers=me, json={"section_id": world.sections["b2a"]})
    _refused(
        api,
        "POST",
        f"{STUDENT}/switch",
        409,
        "different_class",
        json={"from_section_id": world.sections["b2a"], "to_section_id": world.sections["c3a"]},
        headers=me,
    )
    _refused(
        api,
        "POST",
        f"{STUDENT}/waitlist",
        409,
        "waitlist_disabled",
        json={"section_id": world.sections["m1a"]},
        headers=me,
    )
    _refused(api, "DELETE", f"{STUDENT}/stars/{world.subjects['B2']}", 409, "not_starred", headers=me)


def test_capacity_below_the_enrolled_count_is_refused_unless_overridden(api, world, profile):
    profile("s1")
    api.ok("POST", f"{STUDENT}/registrations", headers=api.student("s1"), json={"section_id": world.sections["m1a"]})
    url = f"/sections/{world.sections['m1a']}/capacity"
    _refused(api, "PUT", url, 409, "capacity_below_enrolled", json={"max_class_capacity": 0})
    _refused(
        api,
        "PUT",
        f"/sections/{world.sections['m1a']}/timeslots",
        409,
        "seats_held",
        json={"timeslot_ids": [world.timeslots[1]]},
    )
    api.ok("PUT", url, json={"max_class_capacity": 0, "override": True, "reason": "room closed"})


def test_priority_and_star_rules_are_refused(api, world, profile):
    profile("s1")
    me = api.student("s1")
    _refused(
        api,
        "PUT",
        f"{STUDENT}/priorities/{world.timeslots[0]}",
        409,
        "priority_limit",
        json={"ranks": {"4": world.subjects["B2"]}},
        headers=me,
    )
    _refused(
        api,
        "PUT",
        f"{STUDENT}/priorities/{world.timeslots[0]}",
        409,
        "duplicate_ranking",
        json={"ranks": {"1": world.subjects["B2"], "2": world.subjects["B2"]}},
        headers=me,
    )
    api.ok("PUT", "/programs/splash/settings", json={"min_stars": 2})
    _refused(api, "POST", f"{STUDENT}/confirmation", 409, "too_few_stars", headers=me)


def test_domain_input_errors_are_422_with_their_code(api, world):
    _refused(
        api,
        "POST",
        "/programs/splash/constraints",
        422,
        "malformed_constraint",
        json={"label": "bad", "condition": {"op": "no-such-op"}, "requirement": {}},
    )
    _refused(
        api,
        "POST",
        "/programs/splash/timeslots",
        422,
        "invalid_input",
        json={"label": "backwards", "start": "2026-11-21T10:00:00Z", "end": "2026-11-21T09:00:00Z"},
    )
    _refused(
        api,
        "POST",
        f"/subjects/{world.subjects['B2']}/sections",
        422,
        "invalid_input",
        json={"timeslot_ids": [world.timeslots[0], world.timeslots[0]]},
    )
    _refused(api, "GET", "/registration-types?include=Applied", 422, "invalid_input")


def test_a_conflict_after_retries_is_409_with_a_retry_hint(api, world, profile):
    """The injected clock has another writer (a thread) change the same student inside every
    attempt, so each save conflicts."""
    profile("s1")
    app = api.services.app
    real_clock, app.runner.max_attempts = app.clock, 3
    interfering = []

    def clock():
        interfering.append(1)
        ctx = CommandContext(actor="test:interference", command_id=f"interfere-{len(interfering)}")
        writer = threading.Thread(target=app.submit_profile, args=(program_id("splash"), "s1", "S", 2029, {}, ctx))
        writer.start()
        writer.join()
        return real_clock()

    app.clock = clock
    try:
        response = api.client.post(
            f"{STUDENT}/registrations", json={"section_id": world.sections["b2a"]}, headers=api.student("s1")
        )
    finally:
        app.clock = real_clock
    assert response.status_code == 409, response.text
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["code"] == "conflict"
    assert body["detail"]["retry"] is True
    assert body["detail"]["attempts"] == 3
    assert len(interfering) == 3
    assert not app.get_student(program_id("splash"), "s1").enrolled_in(SectionId(UUID(world.sections["b2a"])))
