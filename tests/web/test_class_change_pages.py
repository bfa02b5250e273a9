"""The registrar's Class change tab in a real browser: start a run from the students' requests,
read its moves, commit it (after its confirmation) and replay it."""

from __future__ import annotations

import re
from uuid import UUID

from regledger.domain.errors import RegistrationError
from regledger.domain.ids import SectionId
from regledger.domain.values import ENROLLED, CommandContext
from tests.web.conftest import Site, check_accessibility, sign_in


def _requests(site: Site) -> dict[str, SectionId]:
    """After a committed lottery, a few students ask for another section in the timeslot of one
    they hold, where a seat is free; returns who asked for what."""
    app = site.services.app
    admin = CommandContext(actor="admin:registrar", command_id="cc-lottery")
    run = app.start_lottery(site.program_id, admin, seed=3)
    app.commit_lottery(UUID(run.ids["run_id"]), CommandContext(actor="admin:registrar", command_id="cc-commit"))
    sections = [app.load_section(SectionId(s.section_id)) for s in site.services.views.seat_counts(site.program_id)]
    asked: dict[str, SectionId] = {}
    for student in site.program.students:
        held = app.get_student(site.program_id, student.key).holding(ENROLLED)
        wanted = [
            s
            for ref in held
            for s in sections
            if s.id != ref.section_id and s.timeslot_ids == ref.timeslot_ids and s.seats_free
            if all(s.subject_id != h.subject_id for h in held)
        ]
        for n, free in enumerate(wanted):
            ctx = CommandContext(actor=f"student:{student.key}", command_id=f"cc-ask-{student.key}-{n}")
            try:
                app.request_changes(site.program_id, student.key, {free.section_id: 1}, ctx)
            except RegistrationError:  # not for this student (grade, constraint): try another
                continue
            asked[student.key] = free.section_id
            break
        if len(asked) == 3:
            break
    assert asked, "the synthetic season has no free seat to ask for"
    site.settle()
    return asked


def test_a_registrar_starts_reads_commits_and_replays_a_class_change_run(site: Site, page, shoot) -> None:
    asked = _requests(site)
    sign_in(page, site, site.admin_token)
    page.goto(site.url(f"/admin/p/{site.slug}/class-change"))
    assert page.get_by_role("heading", level=1).inner_text() == "Class change of Synthetic Splash 7"
    assert "No class-change run yet" in page.locator("main").inner_text()
    check_accessibility(page)

    page.get_by_label("Seed (empty: drawn at random)").fill("5")
    page.get_by_role("button", name="Start a class-change run").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith("Class-change run started with seed 5")
    assert re.fullmatch(r".*/class-change/[0-9a-f-]{36}", page.url), page.url
    moves = page.locator("table.moves tbody tr").all_inner_texts()
    moved = {row.split()[0] for row in moves}
    assert moved
    assert moved <= set(asked)
    assert "computed" in page.get_by_role("heading", level=1).inner_text()
    assert f"Committing moves {len(moves)} students" in page.locator("#commit-what").inner_text()
    check_accessibility(page)
    shoot(page, "admin-class-change-run")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Commit this run").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith("Class-change run committed")
    assert "committed" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("button", name="Commit this run").count() == 0
    for key in moved:
        held = {r.section_id for r in site.services.app.get_student(site.program_id, key).holding(ENROLLED)}
        assert asked[key] in held, key

    page.get_by_role("button", name="Replay (recompute and compare digests)").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith("Replay IDENTICAL")

    page.goto(site.url(f"/admin/p/{site.slug}/class-change"))
    runs = page.locator("table.runs tbody tr").all_inner_texts()
    assert len(runs) == 1
    assert "committed" in runs[0]
    check_accessibility(page)
