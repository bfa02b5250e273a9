"""The registrar's Lottery tab in a real browser: start two runs with different seeds, compare
them side by side, commit one (after its confirmation), replay it, discard the other."""

from __future__ import annotations

import re

import httpx

from regledger.adapters.web.session import csrf_token
from tests.web.conftest import Site, check_accessibility, sign_in


def _lottery(site: Site) -> str:
    return site.url(f"/admin/p/{site.slug}/lottery")


def _start(page, site: Site, seed: int) -> str:
    page.goto(_lottery(site))
    page.get_by_label("Seed (empty: drawn at random)").fill(str(seed))
    page.get_by_role("button", name="Start a lottery run").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith(f"Lottery run started with seed {seed}")
    assert re.fullmatch(r".*/lottery/[0-9a-f-]{36}", page.url), page.url
    return str(page.url)


def _charts_loaded(page) -> bool:
    return bool(page.locator("img.chart").evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)"))


def _table(page, caption: str) -> list[list[str]]:
    rows = page.locator(f"table:has(caption:text-is('{caption}')) tbody tr").all_inner_texts()
    return [row.split("\t") for row in rows]


def test_a_registrar_runs_compares_commits_replays_and_discards_lotteries(site: Site, page, shoot) -> None:
    sign_in(page, site, site.admin_token)
    page.goto(_lottery(site))
    assert page.get_by_role("heading", level=1).inner_text() == "Lottery of Synthetic Splash 7"
    assert "No lottery run yet" in page.locator("main").inner_text()
    check_accessibility(page)

    first = _start(page, site, 42)
    assert "computed" in page.get_by_role("heading", level=1).inner_text()
    assert _charts_loaded(page)
    assert page.locator("img.chart").count() == 3
    by_slots = _table(page, "Students by timeslots filled")
    students = sum(int(n) for _, n in by_slots)
    assert students == len(site.program.students)
    grants = _table(page, "Wishes requested and granted")
    assert grants[0][0] == "Priority 1"
    assert grants[-1][0] == "Stars (interest)"
    assert all(int(granted) <= int(requested) for _, requested, granted, _ in grants)
    fairness = {row[0]: row[1] for row in _table(page, "Fairness figures")}
    assert {"Priority Gini", "Utility Gini", "Worst decile: mean classes", "Classes per student, p10"} <= set(fairness)
    confirm = page.locator("#commit-what").inner_text()
    seats = re.search(r"Committing enrols (\d+) seats for (\d+) students", confirm)
    assert seats is not None
    assert "assignments become enrolments" in confirm
    commit_form = page.locator("form[action$='/commit']")
    assert f"{seats[1]} seats for {seats[2]} students" in (commit_form.get_attribute("data-confirm") or "")
    check_accessibility(page)
    shoot(page, "admin-lottery-run")

    second = _start(page, site, 7)
    page.goto(_lottery(site))
    runs = page.locator("table.runs tbody tr").all_inner_texts()
    assert len(runs) == 2
    assert all("computed" in r for r in runs)
    assert "\t7\t" in runs[0]
    assert "\t42\t" in runs[1]
    check_accessibility(page)
    shoot(page, "admin-lottery")

    page.locator("table.runs input[name='run']").nth(0).check()
    page.get_by_role("button", name="Compare the ticked runs").click()
    page.wait_for_load_state()
    assert "Tick two or more runs" in page.get_by_role("alert").inner_text()
    page.locator("table.runs input[name='run']").nth(0).check()
    page.locator("table.runs input[name='run']").nth(1).check()
    page.get_by_role("button", name="Compare the ticked runs").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Lottery runs compared"
    header = page.locator("table.compare thead th").all_inner_texts()
    assert [h.split("\n")[0] for h in header] == ["Figure", "Run 1 (seed 7)", "Run 2 (seed 42)"]
    seed_row = page.locator("table.compare tbody tr:has(th:text-is('Seed'))").inner_text().split("\t")
    assert seed_row[1:] == ["7", "42"]
    side_by_side = _table(page, "Students by timeslots filled, per run")
    assert sum(int(row[1]) for row in side_by_side) == sum(int(row[2]) for row in side_by_side) == students
    assert _charts_loaded(page)
    check_accessibility(page)
    shoot(page, "admin-lottery-compare")

    page.goto(first)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Commit this run").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith(f"Lottery run committed: {seats[1]} assignments")
    assert "committed" in page.get_by_role("heading", level=1).inner_text()
    digest = page.locator("code.digest").inner_text()

    page.get_by_role("button", name="Replay (recompute and compare digests)").click()
    page.wait_for_load_state()
    verdict = page.get_by_role("status").inner_text()
    assert verdict.startswith("Replay IDENTICAL")
    assert verdict.count(digest) == 2  # the recorded and the replayed digest

    page.goto(second)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discard").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Lottery run discarded."
    assert "discarded" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("button", name="Commit this run").count() == 0

    page.goto(_lottery(site))
    statuses = [row.split("\t")[2] for row in page.locator("table.runs tbody tr").all_inner_texts()]
    assert statuses == ["discarded", "committed"]


def test_a_second_commit_is_refused_with_the_apis_message(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    first = _start(page, site, 1)
    second = _start(page, site, 2)
    page.goto(first)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Commit this run").click()
    page.wait_for_load_state()
    page.goto(second)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Commit this run").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert").inner_text()
    assert "already committed" in alert
    assert "lottery_already_committed" in alert
    assert "computed" in page.get_by_role("heading", level=1).inner_text()


def test_bad_parameters_and_foreign_runs_are_refused(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    page.goto(_lottery(site))
    page.locator("form.lottery-start").evaluate("form => { form.noValidate = true; }")  # as a script could
    page.get_by_label("kp (weight divisor per priority level)").fill("-3")
    page.get_by_role("button", name="Start a lottery run").click()
    page.wait_for_load_state()
    assert "Invalid parameters" in page.get_by_role("alert").inner_text()
    assert page.locator("table.runs").count() == 0
    answer = page.goto(site.url(f"/admin/p/{site.slug}/lottery/00000000-0000-0000-0000-000000000000"))
    assert answer is not None
    assert answer.status == 404


def test_charts_are_svg_images_and_forms_need_the_csrf_field(site: Site) -> None:
    with httpx.Client(base_url=site.base, cookies={"rl_session": site.admin_token}) as client:
        started = client.post(
            f"/admin/p/{site.slug}/lottery/start", data={"seed": "5", "csrf": csrf_token(site.admin_token)}
        )
        assert started.status_code == 303
        run = started.headers["location"]
        for name in ("classes", "priorities", "levels"):
            chart = client.get(f"{run}/{name}.svg")
            assert chart.status_code == 200
            assert chart.headers["content-type"].startswith("image/svg+xml")
            assert "script-src" not in chart.headers["content-security-policy"]
            assert chart.text.lstrip().startswith("<?xml")
            assert client.get(f"{run}/{name}.svg").content == chart.content  # drawn once, kept
        position = site.services.app.position()
        forged = client.post(f"{run}/commit", data={"command_id": "forged"})
        assert forged.status_code == 403
        assert "csrf_failed" in forged.text
        assert site.services.app.position() == position
        other_program = client.get(f"/admin/p/no-such-program/lottery/{run.rsplit('/', 1)[1]}")
        assert other_program.status_code == 404
