"""The registrar's big board in a real browser: the cards' numbers, their live update, the chart."""

from __future__ import annotations

from uuid import uuid4

from playwright.sync_api import expect

from regledger.adapters.web.board_data import SERIES
from regledger.domain.ids import SectionId, section_id, subject_id
from regledger.domain.values import CommandContext
from tests.web.conftest import Site, check_accessibility, sign_in


def registrar(reason: str = "") -> CommandContext:
    return CommandContext(actor="admin:registrar", command_id=str(uuid4()), reason=reason, override=bool(reason))


def enrol(site: Site, key: str, code: str, index: int = 1) -> None:
    section = SectionId(section_id(subject_id(site.program_id, code), index))
    site.services.app.add_section(site.program_id, key, section, registrar("the board test"))
    site.settle()


def seats(site: Site) -> tuple[int, int]:
    live = [s for s in site.services.views.section_views(site.program_id) if not s.is_cancelled]
    return sum(s.enrolled for s in live), sum(s.capacity for s in live)


def card(page: object, name: str) -> object:
    return page.locator(f'[data-card="{name}"] .value')  # type: ignore[attr-defined]


def test_the_board_shows_the_views_counts_and_updates_them_live(site: Site, page, shoot) -> None:
    SERIES.forget()
    first = site.program.sections[0]
    enrol(site, site.program.students[0].key, first.class_code, first.index + 1)
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}"))
    assert page.get_by_role("heading", level=1).inner_text() == "Synthetic Splash 7: big board"
    views = site.services.views
    expect(card(page, "students")).to_have_text(str(views.students_in_program(site.program_id)))
    enrolled, capacity = seats(site)
    assert enrolled == 1
    expect(card(page, "seats")).to_have_text(f"{enrolled} / {capacity}")
    expect(card(page, "waitlisted")).to_have_text("0")
    expect(card(page, "commands")).to_have_text("0.1")  # one command in the last 10 minutes
    popular = page.locator("table.popular tbody tr").first
    expect(popular).to_contain_text(first.class_code)  # the only class with a seat taken
    # The season's chart and the same numbers in a table.
    chart = page.locator("img.chart")
    assert "enrolments" in (chart.get_attribute("alt") or "")
    assert (
        page.request.get(site.url(f"/admin/p/{site.slug}/board/series.svg"))
        .headers["content-type"]
        .startswith("image/svg+xml")
    )
    page.get_by_text("The numbers per hour").click()
    expect(page.locator("table.series tbody tr td").nth(1)).to_have_text("1")
    check_accessibility(page)
    shoot(page, "admin-board")

    # A command elsewhere: the cards follow within a poll (every 5 s), without a reload.
    page.evaluate("window.notReloaded = true")
    enrol(site, site.program.students[1].key, first.class_code, first.index + 1)
    expect(card(page, "seats")).to_have_text(f"{enrolled + 1} / {capacity}", timeout=8_000)
    expect(card(page, "commands")).to_have_text("0.2", timeout=8_000)
    assert page.evaluate("window.notReloaded") is True


def test_the_board_reads_on_a_phone(site: Site, phone, shoot) -> None:
    sign_in(phone, site, site.admin_token)
    phone.goto(site.url(f"/admin/p/{site.slug}"))
    expect(card(phone, "seats")).to_be_visible()
    check_accessibility(phone)
    shoot(phone, "admin-board-phone")


def test_an_unknown_program_is_a_404_page(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    answer = page.goto(site.url("/admin/p/no-such-program"))
    assert answer is not None
    assert answer.status == 404
