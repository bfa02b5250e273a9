"""Signing in and out of the console in a real browser, and the session cookie's rules."""

from __future__ import annotations

from tests.web.conftest import Site, check_accessibility, sign_in


def test_a_registrar_signs_in_with_a_token_and_lands_on_the_programs(site: Site, page, shoot) -> None:
    page.goto(site.url("/admin"))
    assert page.url.endswith("/admin/sign-in?next=/admin")
    check_accessibility(page)
    sign_in(page, site, site.admin_token)
    assert page.url == site.url("/admin")
    assert page.get_by_role("heading", level=1).inner_text() == "Programs"
    assert page.get_by_role("link", name="Synthetic Splash 7").is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "rl_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("rl_session") == -1  # no script can read it
    page.get_by_role("button", name="Sign out").click()
    assert page.url.startswith(site.url("/admin/sign-in"))
    page.goto(site.url("/admin"))
    assert "/admin/sign-in" in page.url


def test_a_wrong_token_is_refused_with_the_apis_message(site: Site, page) -> None:
    sign_in(page, site, "rl_0000000000000000.nope")
    assert page.get_by_role("alert").inner_text().startswith("The token is not valid")
    assert "/admin/sign-in" in page.url


def test_a_student_token_cannot_open_the_console(site: Site, page) -> None:
    sign_in(page, site, site.student_token(site.program.students[0].key))
    assert "belongs to a student" in page.get_by_role("alert").inner_text()
