"""The registrar's big board in a real browser: the cards' numbers, their live update, the chart."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from uuid import uuid4

import httpx
from playwright.sync_api import expect

from regledger.adapters.web.board_data import RECENT_EVENTS, SeasonCache, bucketed, commands_per_minute
from regledger.adapters.web.pages import Flash
from regledger.domain.ids import SectionId, section_id, subject_id
from regledger.domain.values import CommandContext
from regledger.projections.board import Activity, RecentCommands
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
    recent = views.recent_commands(site.program_id, datetime.now(UTC) - timedelta(minutes=10), 5000).commands
    assert recent > 1  # the season loaded minutes ago, and the enrolment
    expect(card(page, "commands")).to_have_text(f"{recent / 10:.1f}")
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
    enrolments = page.locator("table.series tbody td:nth-child(2)").all_inner_texts()
    assert sum(int(n) for n in enrolments) == 1  # quiet hours either side read 0
    check_accessibility(page)
    shoot(page, "admin-board")

    # A command elsewhere: the cards follow within a poll (every 5 s), without a reload.
    page.evaluate("window.notReloaded = true")
    enrol(site, site.program.students[1].key, first.class_code, first.index + 1)
    expect(card(page, "seats")).to_have_text(f"{enrolled + 1} / {capacity}", timeout=8_000)
    expect(card(page, "commands")).to_have_text(f"{(recent + 1) / 10:.1f}", timeout=8_000)
    assert page.evaluate("window.notReloaded") is True


def test_the_board_reads_on_a_phone(site: Site, phone, shoot) -> None:
    first = site.program.sections[0]
    enrol(site, site.program.students[0].key, first.class_code, first.index + 1)
    sign_in(phone, site, site.admin_token)
    phone.goto(site.url(f"/admin/p/{site.slug}"))
    expect(card(phone, "seats")).to_be_visible()
    check_accessibility(phone)
    shoot(phone, "admin-board-phone")


def test_a_poll_leaves_the_flash_cookie_alone(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    flash = SimpleCookie()
    flash["rl_flash"] = Flash("ok", "Done").encode()  # quoted as the redirect's Set-Cookie quotes it
    page.context.add_cookies([{"name": "rl_flash", "value": flash["rl_flash"].coded_value, "url": site.base}])
    assert "Done" in page.request.get(site.url("/admin")).text()  # a page shows (and deletes) it...
    page.context.add_cookies([{"name": "rl_flash", "value": flash["rl_flash"].coded_value, "url": site.base}])
    answer = page.request.get(site.url(f"/admin/p/{site.slug}/board/live"))
    assert answer.status == 200
    assert "rl_flash" not in answer.headers.get("set-cookie", "")  # ...a poll does not
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_poll_without_a_session_answers_401_not_the_sign_in_page(site: Site) -> None:
    answer = httpx.get(site.url(f"/admin/p/{site.slug}/board/live"), follow_redirects=False)
    assert answer.status_code == 401
    assert answer.text == ""
    student = httpx.get(
        site.url(f"/admin/p/{site.slug}/board/live"),
        cookies={"rl_session": site.student_token(site.program.students[0].key)},
        follow_redirects=False,
    )
    assert student.status_code == 401


def test_an_unknown_program_is_a_404_page(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    answer = page.goto(site.url("/admin/p/no-such-program"))
    assert answer is not None
    assert answer.status == 404


def test_the_series_fills_quiet_hours_and_turns_to_days_for_a_long_season() -> None:
    at = datetime(2026, 11, 21, 9, tzinfo=UTC)
    assert bucketed([]).points == []
    lone = bucketed([Activity(at, 3, 1)])
    assert (lone.unit, [(p.hour.hour, p.enrolments, p.drops) for p in lone.points]) == (
        "hour",
        [(8, 0, 0), (9, 3, 1), (10, 0, 0)],
    )
    gap = bucketed([Activity(at, 1, 0), Activity(at + timedelta(hours=3), 0, 2)])
    assert [(p.enrolments, p.drops) for p in gap.points] == [(1, 0), (0, 0), (0, 0), (0, 2)]
    long = bucketed(
        [Activity(at, 1, 0), Activity(at + timedelta(hours=5), 2, 1), Activity(at + timedelta(days=5), 4, 0)]
    )
    assert long.unit == "day"
    assert [(p.hour.day, p.enrolments, p.drops) for p in long.points] == [
        (21, 3, 1),
        (22, 0, 0),
        (23, 0, 0),
        (24, 0, 0),
        (25, 0, 0),
        (26, 4, 0),
    ]


class CountingViews:
    def __init__(self) -> None:
        self.reads = 0
        self.read = threading.Event()

    def enrolment_activity(self, _program: object) -> list[Activity]:
        self.reads += 1
        self.read.set()
        return [Activity(datetime(2026, 11, 21, 9, tzinfo=UTC), self.reads, 0)]

    def class_stars(self, _program: object) -> dict[object, int]:
        return {}


def test_the_season_is_kept_then_read_again_in_the_background() -> None:
    views, program = CountingViews(), uuid4()
    cache = SeasonCache(views, ttl=0.2)  # type: ignore[arg-type]
    first = cache.season(program)
    assert views.reads == 1
    assert cache.season(program) is first
    time.sleep(0.25)
    views.read.clear()
    assert cache.season(program) is first  # stale, while a worker reads
    assert views.read.wait(5)
    deadline = time.monotonic() + 5
    while cache.season(program) is first and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.season(program).series.totals == (2, 0)
    assert views.reads == 2
    cache.close()


class RecentViews:
    def __init__(self, recent: RecentCommands) -> None:
        self.recent = recent

    def recent_commands(self, _program: object, _since: datetime, _limit: int) -> RecentCommands:
        return self.recent


def test_commands_per_minute_over_ten_minutes_or_the_newest_events() -> None:
    now = datetime(2026, 11, 21, 9, tzinfo=UTC)

    def rate(commands: int, events: int, oldest: datetime | None) -> float:
        views = RecentViews(RecentCommands(commands, events, oldest))
        return commands_per_minute(views, uuid4(), now)  # type: ignore[arg-type]

    assert rate(0, 0, None) == 0.0
    assert rate(25, 40, now - timedelta(minutes=9)) == 2.5  # every event of the 10 minutes read
    assert rate(600, RECENT_EVENTS, now - timedelta(minutes=2)) == 300.0  # a rush: over the newest events' span
    assert rate(1, RECENT_EVENTS, now - timedelta(seconds=1)) == 1.0  # a lottery commit: one command
