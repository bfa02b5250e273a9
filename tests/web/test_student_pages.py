"""The registrar's Students tab in a real browser: search, a student's record, and the admin
actions (each needs a reason, and every change shows in the student's history)."""

from __future__ import annotations

from regledger.domain.values import CommandContext
from regledger.projections.catalogue import section_id_of_code
from tests.web.conftest import Site, check_accessibility, sign_in

KEY = "s00001"


def _students(site: Site) -> str:
    return site.url(f"/admin/p/{site.slug}/students")


def _rows(page) -> list[str]:
    return page.locator("table.students tbody tr").all_inner_texts()


def _history(page) -> list[str]:
    return page.locator("table.history tbody tr").all_inner_texts()


def _act(page, form: str, reason: str, **fields: str) -> None:
    """Fill one action form on the student's page and send it."""
    scope = page.locator(f"form[action$='/{form}']")
    for name, value in fields.items():
        field = scope.locator(f"[name='{name}']")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    scope.locator("[name='reason']").fill(reason)
    scope.get_by_role("button").click()
    page.wait_for_load_state()


def test_a_registrar_finds_a_student_by_name_and_by_key_and_reads_their_record(site: Site, page, shoot) -> None:
    ctx = CommandContext(actor="admin:test", reason="profile for the test")
    site.services.app.submit_profile(site.program_id, "s00007", "Ada Lovelace", 2027, {}, ctx)
    site.settle()
    sign_in(page, site, site.admin_token)
    page.goto(_students(site))
    assert page.get_by_role("heading", level=1).inner_text() == "Students of Synthetic Splash 7"
    assert len(_rows(page)) == 40
    check_accessibility(page)
    shoot(page, "admin-students")

    page.get_by_label("Key or name (starts with)").fill("ada lov")
    page.get_by_role("button", name="Search").click()
    rows = _rows(page)
    assert len(rows) == 1
    assert "s00007" in rows[0]
    assert "Ada Lovelace" in rows[0]

    page.get_by_label("Key or name (starts with)").fill("s00012")
    page.get_by_role("button", name="Search").click()
    assert [r.split("\t")[0] for r in _rows(page)] == ["s00012"]

    page.get_by_label("Key or name (starts with)").fill("nobody-by-that-name")
    page.get_by_role("button", name="Search").click()
    assert "No student has a key or name starting with" in page.locator("main").inner_text()

    page.goto(_students(site) + "?q=ada")
    page.get_by_role("link", name="s00007").click()
    assert page.url == site.url(f"/admin/p/{site.slug}/students/s00007")
    assert "Ada Lovelace" in page.get_by_role("heading", level=1).inner_text()


def test_a_students_page_shows_schedule_stars_priorities_and_history(site: Site, page, shoot) -> None:
    student = next(s for s in site.program.students if s.key == KEY)
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/students/{KEY}"))
    main = page.locator("main").inner_text()
    assert "Grade" in main
    assert "Checked in" in main
    schedule = page.locator("#schedule + .table-wrap tbody tr").all_inner_texts()
    ranked = sum(len(codes) for codes in student.priorities.values())
    assert len(schedule) == ranked
    assert all("Priority/" in row for row in schedule)
    stars = page.locator("section[aria-labelledby='stars-h'] li").all_inner_texts()
    assert sorted(s.split()[0] for s in stars) == sorted(student.stars)
    priorities = page.locator("section[aria-labelledby='priorities-h'] tbody tr").all_inner_texts()
    assert len(priorities) == ranked
    for label, codes in student.priorities.items():
        assert any(row.startswith(label) and codes[0] in row for row in priorities)
    history = _history(page)
    assert sum("starred" in h for h in history) == len(student.stars)
    assert sum("registered" in h and "ranking" in h for h in history) == ranked
    check_accessibility(page)


def test_a_registrar_adds_switches_and_drops_with_reasons_shown_in_the_history(site: Site, page, shoot) -> None:
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/students/{KEY}"))

    _act(page, "add", "seat by phone", section="E0007s1")
    assert page.get_by_role("status").inner_text().startswith(f"Added {KEY} to E0007s1 as Enrolled")
    assert any(
        "E0007s1" in row and "Enrolled" in row for row in page.locator("#schedule + .table-wrap tr").all_inner_texts()
    )

    _act(page, "switch", "clashes with a bus", from_section="E0007s1", to_section="E0007s2")
    assert "Switched" in page.get_by_role("status").inner_text()

    _act(page, "drop", "Family trip on Sunday", section="E0007s2")
    assert page.get_by_role("status").inner_text().startswith(f"Dropped {KEY} from E0007s2")
    schedule = page.locator("#schedule + .table-wrap tbody tr").all_inner_texts()
    assert not any("Enrolled" in row for row in schedule)
    history = _history(page)
    dropped = [h for h in history if "ended" in h and "E0007s2" in h]
    assert len(dropped) == 1
    assert "admin:registrar" in dropped[0]
    assert "Family trip on Sunday" in dropped[0]
    assert "drop" in dropped[0]
    assert any(
        "registered" in h and "E0007s1" in h and "seat by phone" in h and "admin:registrar" in h for h in history
    )
    assert any("E0007s2" in h and "switch" in h and "clashes with a bus" in h for h in history)

    _act(page, "add", "back from the trip", section="E0007s1")
    assert page.get_by_role("status").inner_text().startswith(f"Added {KEY} to E0007s1")
    check_accessibility(page)
    shoot(page, "admin-student")


def test_an_action_without_a_reason_is_refused_and_changes_nothing(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/students/{KEY}"))
    before, position = _history(page), site.services.app.position()
    for form, fields in (("add", {"section": "E0007s1"}), ("drop", {"section": "X0001s1"})):
        _act(page, form, "   ", **fields)
        alert = page.get_by_role("alert").inner_text()
        assert "A reason is required" in alert
        assert "invalid_input" in alert
    assert _history(page) == before
    assert site.services.app.position() == position  # nothing was written


def test_a_refusal_shows_the_apis_message_and_unenroll_all_asks_first(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/students/{KEY}"))
    _act(page, "add", "typo check", section="Z9999s1")
    assert "No such section" in page.get_by_role("alert").inner_text()
    _act(page, "add", "seat by phone", section="E0007s1")
    form = page.locator("form[action$='/unenroll-all']")
    assert "End EVERY registration" in (form.get_attribute("data-confirm") or "")
    form.locator("[name='reason']").fill("left the program")
    page.once("dialog", lambda dialog: dialog.dismiss())
    form.get_by_role("button").click()
    assert page.get_by_role("status").inner_text().startswith("Added")  # dismissed: nothing sent
    page.once("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith(f"Unenrolled {KEY}: ended")
    schedule = page.locator("#schedule + .table-wrap tbody tr").all_inner_texts()
    assert not any("Enrolled" in row for row in schedule)
    assert any("unenroll_all" in h and "left the program" in h for h in _history(page))


def test_names_and_reasons_are_shown_as_text_never_run(site: Site, page) -> None:
    script = "<script>alert(1)</script>"
    ctx = CommandContext(actor="admin:test", reason="profile for the test")
    site.services.app.submit_profile(site.program_id, KEY, script, 2027, {}, ctx)
    site.settle()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, site, site.admin_token)
    page.goto(_students(site) + "?q=%3Cscript")
    assert script in _rows(page)[0]
    page.goto(site.url(f"/admin/p/{site.slug}/students/{KEY}"))
    assert script in page.get_by_role("heading", level=1).inner_text()
    _act(page, "add", f"because {script}", section="E0007s1")
    assert any(f"because {script}" in h for h in _history(page))
    assert not dialogs


def test_a_students_page_shows_where_they_stand_in_each_waitlist(site: Site, page) -> None:
    app = site.services.app
    ctx = CommandContext(actor="admin:test", reason="a full section for the test")
    section = section_id_of_code(site.program_id, "E0007s1")
    assert section is not None
    app.change_capacity(section, ctx, room_capacity=1)
    app.add_section(site.program_id, "s00002", section, ctx)
    app.join_waitlist(site.program_id, "s00003", section, ctx)
    site.settle()
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/students/{KEY}"))
    assert "On no waitlist." in page.locator("main").inner_text()
    _act(page, "add", "wants in if a seat frees", section="E0007s1", verb="Waitlisted")
    place = page.locator("#waitlists + table tbody tr").all_inner_texts()
    assert len(place) == 1
    assert place[0].split("\t")[:4] == ["E0007s1", "Chess Engineering 7", "2", "2"]
