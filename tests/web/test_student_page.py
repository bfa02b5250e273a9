"""The student page in a real browser: the catalogue by timeslot, the schedule, add, refusals with
the API's own messages, waitlists, switches, stars and priorities in the lottery phase."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from regledger.adapters.demo import admin
from regledger.adapters.web import student_page_data
from regledger.domain.ids import SectionId, TimeslotId, section_id, subject_id
from regledger.domain.program import grade_in
from regledger.domain.runner import utc_now
from tests.web.conftest import Site, check_accessibility, sign_in


def students_in_grades(site: Site, grades: tuple[int, ...] = (9, 10)) -> list[str]:
    """Keys of students whose grade suits every class used here (E0005, X0008: 7-10; M0004: 9-10)."""
    year = site.program.school_year
    return [s.key for s in site.program.students if grade_in(year, s.graduation_year) in grades]


def section(site: Site, code: str, index: int) -> SectionId:
    return section_id(subject_id(site.program_id, code), index)


def open_page(page, site: Site, key: str) -> None:
    sign_in(page, site, site.student_token(key), admin_side=False)
    assert page.url == site.url("/")


def button(page, name: str):
    """The button whose accessible name starts with `name` (Playwright's default matches anywhere)."""
    return page.get_by_role("button", name=re.compile("^" + re.escape(name)))


def flash(page) -> str:
    return page.locator(".flash").inner_text()


def schedule_text(page) -> str:
    return page.locator("section[aria-labelledby=schedule-heading]").inner_text()


WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 376)
  .map(e => `${e.tagName}.${e.className}`).slice(0, 8)"""


def set_windows(site: Site, *, lottery_open: bool, classes_open: bool) -> None:
    """The season's phase, as `PUT /programs/{slug}/windows/{kind}` sets it."""
    now = utc_now()
    for kind, is_open in (("lottery", lottery_open), ("classes", classes_open)):
        opens, closes = (
            (now - timedelta(hours=1), now + timedelta(days=1)) if is_open else (now + timedelta(days=2), None)
        )
        site.services.app.set_window(site.program_id, kind, opens, closes, admin())
    site.settle()


def test_a_student_sees_the_catalogue_by_timeslot_and_adds_a_section(site: Site, page, shoot) -> None:
    key = students_in_grades(site)[0]
    page.goto(site.url("/"))
    assert page.url == site.url("/sign-in?next=/")
    open_page(page, site, key)
    assert page.get_by_role("heading", level=1).inner_text() == "Synthetic Splash 7"
    assert key in page.locator(".student-who").inner_text()
    for t in site.program.timeslots:
        assert page.get_by_role("heading", level=3, name=t.label).is_visible()
    robots = page.locator("section.slot", has=page.get_by_role("heading", name="D1 09:00")).locator(
        "tr", has_text="E0005s1"
    )
    assert "Robots Engineering 5" in robots.inner_text()
    assert "26 / 26" in robots.inner_text()
    assert "You have no classes yet." in schedule_text(page)
    assert "(not your grade)" in page.locator("table.catalogue tr", has_text="X0002s1").inner_text()  # grade 7 only
    assert "(not your grade)" not in robots.inner_text()
    check_accessibility(page)

    button(page, "Add E0005s1").click()
    assert flash(page).startswith("Enrolled in E0005s1 (Robots Engineering 5).")
    assert "E0005s1" in schedule_text(page)
    assert "Enrolled" in schedule_text(page)
    assert "25 / 26" in robots.inner_text()
    assert "Enrolled" in robots.inner_text()
    assert button(page, "Drop E0005s1").is_visible()
    shoot(page, "student-page")

    button(page, "Drop E0005s1").click()
    assert flash(page).startswith("Dropped E0005s1")
    assert "You have no classes yet." in schedule_text(page)


def test_the_page_works_from_the_keyboard(site: Site, page) -> None:
    open_page(page, site, students_in_grades(site)[0])
    target = button(page, "Add E0005s1")
    for _ in range(300):
        page.keyboard.press("Tab")
        if target.evaluate("b => b === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the Add button")
    outline = target.evaluate("b => getComputedStyle(b).outlineStyle")
    assert outline != "none"  # a visible focus ring
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert flash(page).startswith("Enrolled in E0005s1")
    assert "E0005s1" in schedule_text(page)


def test_a_refusal_shows_the_apis_own_message(site: Site, page) -> None:
    key = students_in_grades(site)[0]
    open_page(page, site, key)
    button(page, "Add E0005s1").click()  # D1 09:00
    button(page, "Add X0008s1").first.click()  # D1 09:00 and 10:00: the timeslot is taken
    alert = page.get_by_role("alert").inner_text()
    assert alert.startswith("Refused:")
    answer = httpx.post(
        site.url(f"/programs/{site.slug}/students/{key}/registrations"),
        json={"section_id": str(section(site, "X0008", 1))},
        headers={"Authorization": f"Bearer {site.student_token(key)}"},
    )
    assert answer.status_code == 409
    refusal = answer.json()
    assert f"Refused: {refusal['message']}" in alert
    assert refusal["code"] in alert
    assert "X0008s1" not in schedule_text(page)


def test_a_student_joins_the_waitlist_of_a_full_section_and_sees_their_place(site: Site, page) -> None:
    me, other = students_in_grades(site)[:2]
    app = site.services.app
    full = section(site, "E0005", 1)
    app.change_capacity(full, admin(), max_class_capacity=1, room_capacity=1)
    app.add_section(site.program_id, other, full, admin(), "Enrolled")
    site.settle()
    open_page(page, site, me)
    row = page.locator("table.catalogue tr", has_text="E0005s1")
    assert "0 / 1" in row.inner_text()
    button(page, "Join waitlist E0005s1").click()
    assert flash(page).startswith("Joined the waitlist of E0005s1")
    assert "Waitlisted: place 1 in line" in schedule_text(page)
    assert "place 1 in line" in row.inner_text()
    button(page, "Leave waitlist E0005s1").click()
    assert flash(page).startswith("Left the waitlist of E0005s1")
    assert "Waitlisted" not in schedule_text(page)


def test_a_student_switches_between_two_sections_of_a_class(site: Site, page) -> None:
    open_page(page, site, students_in_grades(site)[0])
    button(page, "Add M0004s2").click()  # D2 10:00
    assert "M0004s2" in schedule_text(page)
    page.get_by_label("Switch to").select_option(str(section(site, "M0004", 3)))
    button(page, "Switch M0004s2").click()
    assert flash(page).startswith("Switched from M0004s2 (Poetry Math 4) to M0004s3 (Poetry Math 4).")
    text = schedule_text(page)
    assert "M0004s3" in text
    assert "M0004s2" not in text


def test_stars_and_priorities_in_the_lottery_phase(site: Site, page) -> None:
    set_windows(site, lottery_open=True, classes_open=False)
    key = students_in_grades(site)[0]
    open_page(page, site, key)
    phases = page.locator(".phases").inner_text()
    assert "Lottery preferences: open" in phases
    assert "Registration (first come, first served): closed" in phases
    assert button(page, "Add E0005s1").count() == 0  # registration is closed

    stars = page.locator("section[aria-labelledby=stars-heading]")
    assert "Robots Engineering 5" in stars.inner_text()  # starred when the season was loaded
    button(page, "Unstar E0005s1").click()
    assert flash(page).startswith("Unstarred E0005 (Robots Engineering 5).")
    assert "Robots Engineering 5" not in stars.inner_text()
    button(page, "Star E0005s1").click()
    assert flash(page).startswith("Starred E0005 (Robots Engineering 5).")
    assert "Robots Engineering 5" in stars.inner_text()
    assert button(page, "Unstar E0005s1").is_visible()

    form = page.locator("form.priorities", has_text="Your priorities for D1 09:00")
    form.get_by_label("Priority 1").select_option(label="E0005 Robots Engineering 5")
    form.get_by_label("Priority 2").select_option(label="X0008 Jazz Miscellaneous 8")
    button(form, "Save priorities").click()
    assert flash(page).startswith("Priorities for D1 09:00 saved.")
    form = page.locator("form.priorities", has_text="Your priorities for D1 09:00")
    assert form.get_by_label("Priority 1").evaluate("s => s.selectedOptions[0].text") == "E0005 Robots Engineering 5"
    assert form.get_by_label("Priority 2").evaluate("s => s.selectedOptions[0].text") == "X0008 Jazz Miscellaneous 8"
    schedule = httpx.get(
        site.url(f"/programs/{site.slug}/students/{key}/schedule"),
        headers={"Authorization": f"Bearer {site.student_token(key)}"},
    ).json()
    ranked = {
        e["verb"]: e["section_code"]
        for e in schedule["entries"]
        if e["verb"].startswith("Priority/") and e["timeslots"][0]["label"] == "D1 09:00"
    }
    assert ranked.get("Priority/1") == "E0005s1"
    assert ranked.get("Priority/2") == "X0008s1"

    # The same class twice: the API's refusal, shown as it answers it.
    form.get_by_label("Priority 2").select_option(label="E0005 Robots Engineering 5")
    button(form, "Save priorities").click()
    assert "A class can be ranked only once per timeslot." in page.get_by_role("alert").inner_text()

    button(page, "Confirm my preferences").click()
    assert flash(page).startswith("Your lottery preferences are confirmed.")
    check_accessibility(page)


def test_after_the_lottery_phase_preferences_are_hidden_and_registration_is_open(site: Site, page) -> None:
    set_windows(site, lottery_open=False, classes_open=True)
    open_page(page, site, students_in_grades(site)[0])
    phases = page.locator(".phases").inner_text()
    assert "Lottery preferences: closed" in phases
    assert "Registration (first come, first served): open" in phases
    assert page.locator("form.priorities").count() == 0
    assert button(page, "Star E0005s1").count() == 0
    assert button(page, "Add E0005s1").is_visible()


def test_the_page_fits_a_phone(site: Site, phone, shoot) -> None:
    open_page(phone, site, students_in_grades(site)[0])
    button(phone, "Add M0004s2").click()
    button(phone, "Add E0005s1").click()
    assert "M0004s2" in schedule_text(phone)
    wide = phone.evaluate(WIDER_THAN_THE_SCREEN)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375, wide
    assert button(phone, "Switch M0004s2").is_visible()
    check_accessibility(phone)
    shoot(phone, "student-page-phone")


def test_a_class_title_is_shown_as_text_never_run(site: Site, page) -> None:
    app = site.services.app
    title = "<script>alert(1)</script>"
    app.add_subject(site.program_id, "Z0666", title, admin(), grade_min=7, grade_max=12)
    timeslot = TimeslotId(site.program.timeslot_id("D1 14:00"))
    app.create_section(subject_id(site.program_id, "Z0666"), [timeslot], admin(), max_class_capacity=10)
    site.settle()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_page(page, site, students_in_grades(site)[0])
    row = page.locator("table.catalogue tr", has_text="Z0666s1")
    assert title in row.inner_text()
    button(page, "Add Z0666s1").click()
    assert title in flash(page)
    assert title in schedule_text(page)
    assert not dialogs


def test_a_large_catalogue_shows_one_timeslot_at_a_time(site: Site, page, monkeypatch) -> None:
    monkeypatch.setattr(student_page_data, "ALL_AT_ONCE", 5)  # as if the program had Splash's 700 sections
    open_page(page, site, students_in_grades(site)[0])
    nav = page.get_by_role("navigation", name="Timeslots")
    assert nav.get_by_role("link").count() == len(site.program.timeslots)
    assert page.get_by_role("heading", level=3).all_inner_texts()[0].startswith("D1 09:00")
    assert page.get_by_role("heading", level=3).count() == 1
    nav.get_by_role("link", name="D2 10:00").click()
    assert nav.get_by_role("link", name="D2 10:00").get_attribute("aria-current") == "page"
    assert page.get_by_role("heading", level=3).inner_text().startswith("D2 10:00")
    button(page, "Add M0004s2").click()
    assert flash(page).startswith("Enrolled in M0004s2")
    assert page.get_by_role("heading", level=3).inner_text().startswith("D2 10:00")  # back where the form was
    assert "M0004s2" in schedule_text(page)
