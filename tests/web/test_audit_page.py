"""The registrar's audit log in a real browser: filters, pages and the CSV download."""

from __future__ import annotations

import csv
from pathlib import Path
from uuid import uuid4

from playwright.sync_api import expect

from regledger.domain.ids import SectionId, section_id, subject_id
from regledger.domain.values import CommandContext
from tests.web.conftest import Site, check_accessibility, sign_in


def registrar(reason: str) -> CommandContext:
    return CommandContext(actor="admin:registrar", command_id=str(uuid4()), reason=reason, override=True)


def rows(page: object) -> object:
    return page.locator("table.audit tbody tr")  # type: ignore[attr-defined]


def test_a_registrar_filters_pages_and_downloads_the_audit(site: Site, page, shoot, tmp_path: Path) -> None:
    student = site.program.students[0].key
    first = site.program.sections[0]
    code = f"{first.class_code}s{first.index + 1}"
    section = SectionId(section_id(subject_id(site.program_id, first.class_code), first.index + 1))
    site.services.app.add_section(site.program_id, student, section, registrar("makeup seat"))
    site.services.app.drop_section(site.program_id, student, section, registrar("asked to leave <b>early</b>"))
    site.settle()

    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/audit"))
    assert page.get_by_role("heading", level=1).inner_text() == "Synthetic Splash 7: audit log"
    expect(page.get_by_role("link", name="Audit")).to_have_attribute("aria-current", "page")
    expect(rows(page)).to_have_count(100)  # the season's log has ~500 events: the first page
    newest = rows(page).first
    expect(newest).to_contain_text(f"{student} gave up a seat in {code}")
    expect(newest).to_contain_text("asked to leave <b>early</b>")  # escaped, shown as typed
    expect(newest).to_contain_text("admin:registrar")
    check_accessibility(page)

    # Pages: next, next, then back.
    top = rows(page).first.locator("td").first.inner_text()
    page.get_by_role("link", name="Next page").click()
    expect(rows(page)).to_have_count(100)
    second_top = rows(page).first.locator("td").first.inner_text()
    assert int(second_top) < int(top)
    page.get_by_role("link", name="Next page").click()
    page.get_by_role("link", name="Previous page").click()
    expect(rows(page).first.locator("td").first).to_have_text(second_top)
    page.get_by_role("link", name="Previous page").click()
    expect(rows(page).first.locator("td").first).to_have_text(top)
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)

    # By student: only their events, the drop's reason among them.
    page.get_by_label("Student key").fill(student)
    page.get_by_role("button", name="Filter").click()
    assert f"student={student}" in page.url
    expect(rows(page).first).to_contain_text("gave up a seat")
    for cell in rows(page).locator("td:nth-child(5)").all_inner_texts():
        assert cell.startswith(student)
    expect(page.get_by_role("cell", name="makeup seat").first).to_be_visible()
    check_accessibility(page)
    shoot(page, "admin-audit")  # a student's events: a page one can read in a screenshot

    # And by event kind: the student's enrolment, oldest first.
    page.get_by_label("Event kind").select_option("Student.SectionRegistered")
    page.get_by_label("Order").select_option("oldest")
    page.get_by_role("button", name="Filter").click()
    texts = rows(page).locator("td:nth-child(4)").all_inner_texts()
    assert texts
    assert all(t.endswith(tuple(f" {student} in {s}" for s in [code, *_codes(site)])) for t in texts)
    assert f"Enrolled {student} in {code}" in texts

    # The CSV: the same filters, every row.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    target = tmp_path / "audit.csv"
    download.value.save_as(target)
    with target.open(newline="") as f:
        exported = list(csv.DictReader(f))
    assert [r["summary"] for r in exported] == texts
    assert {r["event_kind"] for r in exported} == {"Student.SectionRegistered"}
    assert {r["student_key"] for r in exported} == {student}
    enrolled = next(r for r in exported if r["section_code"] == code)
    assert (enrolled["actor"], enrolled["reason"]) == ("admin:registrar", "makeup seat")


def test_a_bad_filter_is_refused_on_the_page(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/audit?section=nocode"))
    expect(page.get_by_role("alert")).to_contain_text("Not a section code")
    expect(rows(page)).to_have_count(0)


def _codes(site: Site) -> list[str]:
    return [f"{s.class_code}s{s.index + 1}" for s in site.program.sections]
