"""The registrar's catalogue and a section's page in a real browser: filters, roster, waitlist,
history, "as of", and a class title that looks like HTML shown as text."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from regledger.adapters.web import routes_catalogue_pages
from regledger.domain.ids import SectionId, TimeslotId, section_id, subject_id
from tests.web.conftest import Site, check_accessibility, sign_in
from tests.web.test_board import registrar

SCRIPT_TITLE = "<script>alert(1)</script>"


def test_the_catalogue_filters_and_a_section_shows_roster_waitlist_history_and_as_of(site: Site, page, shoot) -> None:
    app, pid = site.services.app, site.program_id
    target = site.program.sections[0]
    code = f"{target.class_code}s{target.index + 1}"
    title = next(c.title for c in site.program.classes if c.code == target.class_code)
    section = SectionId(section_id(subject_id(pid, target.class_code), target.index + 1))
    ada, bob, cy = (s.key for s in site.program.students[:3])
    app.submit_profile(pid, ada, "Ada Lovelace", site.program.students[0].graduation_year, {}, registrar())
    app.change_capacity(section, registrar(), max_class_capacity=1)
    site.settle()
    before = datetime.now(UTC)
    time.sleep(1.1)  # "as of" has a resolution of a second
    app.add_section(pid, ada, section, registrar("Seat kept for the catalogue test"))
    app.join_waitlist(pid, bob, section, registrar("First in line"))
    app.join_waitlist(pid, cy, section, registrar("Second in line"))
    site.settle()

    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/sections"))
    assert page.get_by_role("heading", level=1).inner_text() == "Synthetic Splash 7: catalogue"
    rows = page.locator("table.catalogue tbody tr")
    expect(rows).to_have_count(len(site.program.sections))
    row = rows.filter(has=page.get_by_role("link", name=code, exact=True))
    expect(row).to_contain_text(title)
    expect(row.locator("td.num")).to_have_text(["1", "1", "0", "2"])  # capacity, enrolled, free, waitlist
    check_accessibility(page)
    shoot(page, "admin-catalogue")

    page.get_by_label("Seats").select_option("full")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(code)
    page.get_by_label("Seats").select_option("free")
    page.get_by_label("Code or title").fill(title[:6].lower())
    page.get_by_role("button", name="Filter").click()
    assert "search=" in page.url
    expect(page.locator("table.catalogue tbody")).not_to_contain_text(code)  # full: left out
    page.get_by_label("Seats").select_option("")
    page.get_by_label("Timeslot").select_option(target.timeslot_labels[0])
    page.get_by_label("Code or title").fill("")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.catalogue tbody")).to_contain_text(code)
    for cells in page.locator("table.catalogue tbody tr td:nth-child(4)").all_inner_texts():
        assert target.timeslot_labels[0] in cells

    page.get_by_role("link", name=code, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{code} {title}")
    roster = page.locator("table.roster tbody tr")
    expect(roster).to_have_count(1)
    expect(roster.first).to_contain_text("Ada Lovelace")
    expect(roster.first).to_contain_text(ada)
    expect(roster.first).to_contain_text("Enrolled")
    queue = page.locator("table.waitlist tbody tr")
    expect(queue).to_have_count(2)
    expect(queue.nth(0)).to_contain_text(bob)
    expect(queue.nth(0).locator("td").first).to_have_text("1")
    expect(queue.nth(1)).to_contain_text(cy)
    history = page.locator("table.history tbody")
    enrolled = history.locator("tr", has_text="Ada Lovelace").filter(has_text="Enrolled")
    expect(enrolled).to_contain_text("admin:registrar")
    expect(enrolled).to_contain_text("Seat kept for the catalogue test")
    expect(history).to_contain_text("First in line")
    page.get_by_label("Verbs").select_option("all")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.roster tbody")).to_contain_text("Priority/")  # the synthetic season's rankings
    page.get_by_role("link", name="Now").click()
    check_accessibility(page)
    shoot(page, "admin-section")

    # As of before the enrolment (the program's timezone is UTC): nobody was on the roster.
    page.get_by_label("As of (UTC)").fill(before.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Roster as of")).to_be_visible()
    expect(page.locator("table.roster")).to_have_count(0)
    expect(page.locator(".roster-count")).to_contain_text("0 enrolled of 1 seats at that time")
    page.get_by_role("link", name="Now").click()
    expect(page.locator("table.roster tbody tr")).to_have_count(1)


def test_a_class_title_that_looks_like_html_is_shown_as_text(site: Site, page) -> None:
    app, pid = site.services.app, site.program_id
    app.add_subject(pid, "XSS1", SCRIPT_TITLE, registrar())
    slot = TimeslotId(site.program.timeslot_id(site.program.timeslots[0].label))
    app.create_section(subject_id(pid, "XSS1"), [slot], registrar(), max_class_capacity=5)
    site.settle()
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/sections?search=xss"))
    row = page.locator("table.catalogue tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text(SCRIPT_TITLE)
    page.get_by_role("link", name="XSS1s1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"XSS1s1 {SCRIPT_TITLE}")
    assert page.locator("main script").count() == 0  # the page fixture fails on any script error too


def test_an_unknown_section_and_a_bad_instant_answer_error_pages(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    answer = page.goto(site.url(f"/admin/p/{site.slug}/sections/NOPE1s1"))
    assert answer is not None
    assert answer.status == 404
    target = site.program.sections[0]
    code = f"{target.class_code}s{target.index + 1}"
    answer = page.goto(site.url(f"/admin/p/{site.slug}/sections/{code}?as_of=yesterday"))
    assert answer is not None
    assert answer.status == 422
    expect(page.get_by_role("main")).to_contain_text("As of")


def test_the_catalogue_pages_by_code(site: Site, page, monkeypatch) -> None:
    monkeypatch.setattr(routes_catalogue_pages, "PAGE", 5)
    codes = sorted((s.class_code, s.index) for s in site.program.sections)
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/sections"))
    seen: list[str] = []
    while True:
        seen += page.locator("table.catalogue tbody tr td:first-child").all_inner_texts()
        following = page.get_by_role("link", name="Next page")
        if not following.count():
            break
        following.click()
        expect(page.get_by_role("link", name="First page")).to_be_visible()
    assert seen == [f"{code}s{index + 1}" for code, index in codes]
    page.goto(site.url(f"/admin/p/{site.slug}/sections?search=s"))  # every title has an s
    expect(page.locator("table.catalogue tbody tr")).to_have_count(5)
    page.get_by_role("link", name="Next page").click()
    assert "search=s" in page.url
    assert page.locator("table.catalogue tbody tr td:first-child").all_inner_texts()[0] > seen[4]


def test_a_control_character_in_a_filter_is_refused_as_the_api_refuses_it(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    answer = page.goto(site.url(f"/admin/p/{site.slug}/sections?category=Math%00&search=a%0Ab"))
    assert answer is not None
    assert answer.status == 422
    expect(page.get_by_role("main")).to_contain_text("invalid_input")


def test_as_of_and_the_history_read_the_programs_timezone(site: Site, page) -> None:
    app, pid = site.services.app, site.program_id
    app.change_settings(pid, {"timezone": "America/New_York"}, registrar())
    target = site.program.sections[0]
    code = f"{target.class_code}s{target.index + 1}"
    section = SectionId(section_id(subject_id(pid, target.class_code), target.index + 1))
    before = datetime.now(UTC)
    time.sleep(1.1)
    app.add_section(pid, site.program.students[0].key, section, registrar("Time zones"))
    site.settle()
    enrolled_at = next(i.valid_from for i in site.services.views.history(section_id=section) if i.verb == "Enrolled")
    local = ZoneInfo("America/New_York")
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/sections/{code}"))
    row = page.locator("table.history tbody tr", has_text="Time zones")
    expect(row.locator("td").first).to_have_text(enrolled_at.astimezone(local).strftime("%Y-%m-%d %H:%M:%S"))
    expect(page.locator("table.roster tbody tr")).to_have_count(1)
    page.get_by_label("As of (America/New_York)").fill(before.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".roster-count")).to_contain_text("0 enrolled")
