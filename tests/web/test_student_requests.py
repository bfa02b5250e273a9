"""A student's class-change requests on their page, in the program's class_change window."""

from __future__ import annotations

from datetime import timedelta

from regledger.adapters.demo import admin
from regledger.domain.runner import utc_now
from tests.web.conftest import Site, check_accessibility
from tests.web.test_student_page import button, flash, open_page, set_windows, students_in_grades


def _requests_text(page) -> str:
    return page.locator("section[aria-labelledby=requests-heading]").inner_text()


def test_a_student_requests_a_section_and_withdraws_it(site: Site, page) -> None:
    set_windows(site, lottery_open=False, classes_open=False)
    key = students_in_grades(site)[0]
    open_page(page, site, key)
    assert page.locator("section[aria-labelledby=requests-heading]").count() == 0  # no window set

    now = utc_now()
    site.services.app.set_window(
        site.program_id, "class_change", now - timedelta(hours=1), now + timedelta(days=1), admin()
    )
    site.settle()
    page.goto(site.url("/"))
    assert "Class-change requests: open" in page.locator("ul.phases").inner_text()
    assert "No requests yet." in _requests_text(page)
    check_accessibility(page)

    row = page.locator("tr", has_text="E0005s1")
    row.get_by_label("Priority").select_option("2")
    button(page, "Request E0005s1").click()
    page.wait_for_load_state()
    assert flash(page).startswith("Requested a move to E0005s1 (Robots Engineering 5).")
    assert "E0005s1 Robots Engineering 5 · priority 2" in _requests_text(page)
    student = site.services.app.get_student(site.program_id, key)
    assert any(verb == "Request/2" for _, verb in student.registrations)

    button(page, "Withdraw E0005s1").click()
    page.wait_for_load_state()
    assert flash(page).startswith("Withdrew your request for E0005s1")
    assert "No requests yet." in _requests_text(page)
    student = site.services.app.get_student(site.program_id, key)
    assert not any(verb.startswith("Request") for _, verb in student.registrations)
    check_accessibility(page)
