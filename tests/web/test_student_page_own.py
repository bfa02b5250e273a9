"""The student page shows and acts for its own student only: the key comes from the session,
never from a form or the URL; forms need the session's CSRF value; a double submit replays."""

from __future__ import annotations

from uuid import uuid4

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from regledger.adapters.web import routes_student_page
from regledger.domain.ids import student_id
from regledger.domain.values import ENROLLED
from tests.web.conftest import Site, sign_in
from tests.web.test_student_page import flash, section, students_in_grades


def held(site: Site, key: str) -> set[str]:
    site.settle()
    entries = site.services.views.sections(student_id(site.program_id, key), site.program_id, (ENROLLED,))
    return {f"{e.class_code}s{e.section_index}" for e in entries}


def parameters(dependant: Dependant) -> set[str]:
    """Every query, path, body, header and cookie parameter a route reads, its dependencies' too."""
    fields = (
        *dependant.query_params,
        *dependant.path_params,
        *dependant.body_params,
        *dependant.header_params,
        *dependant.cookie_params,
    )
    names = {f.alias for f in fields}
    for sub in dependant.dependencies:
        names |= parameters(sub)
    return names


def test_no_parameter_of_the_page_or_its_forms_names_a_student() -> None:
    for route in routes_student_page.router.routes:
        assert isinstance(route, APIRoute)
        names = parameters(route.dependant)
        assert "csrf" in names or route.path == "/"
        assert not {n for n in names if "student" in n or "key" in n or "slug" in n}, (route.path, names)


def test_a_form_naming_another_student_still_acts_for_the_signed_in_one(site: Site, page) -> None:
    me, other = students_in_grades(site)[:2]
    sign_in(page, site, site.student_token(me), admin_side=False)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        site.url(f"/me/add?student_key={other}&key={other}&slug=elsewhere"),
        form={
            "csrf": csrf,
            "command_id": str(uuid4()),
            "section_id": str(section(site, "E0005", 1)),
            "student_key": other,
            "key": other,
            "slug": "elsewhere",
        },
    )
    assert answer.ok
    assert held(site, me) == {"E0005s1"}
    assert held(site, other) == set()
    page.goto(site.url(f"/?student_key={other}&key={other}"))
    assert me in page.locator(".student-who").inner_text()
    assert other not in page.locator("main").inner_text()


def test_a_form_without_the_sessions_csrf_value_is_refused(site: Site, page) -> None:
    me = students_in_grades(site)[0]
    sign_in(page, site, site.student_token(me), admin_side=False)
    form = {"command_id": str(uuid4()), "section_id": str(section(site, "E0005", 1))}
    answer = page.request.post(site.url("/me/add"), form={**form, "csrf": "0" * 32})
    assert answer.status == 403
    assert "did not come from this site" in answer.text()
    assert held(site, me) == set()


def test_a_double_submit_replays_instead_of_acting_twice(site: Site, page) -> None:
    me = students_in_grades(site)[0]
    sign_in(page, site, site.student_token(me), admin_side=False)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    form = {"csrf": csrf, "command_id": str(uuid4()), "section_id": str(section(site, "E0005", 1))}
    for _ in range(2):
        page.request.post(site.url("/me/add"), form=form, max_redirects=0)
    page.goto(site.url("/"))
    assert flash(page).startswith("Already done")
    assert held(site, me) == {"E0005s1"}


def test_a_registrar_is_sent_to_the_console(site: Site, page) -> None:
    sign_in(page, site, site.admin_token)
    page.goto(site.url("/"))
    assert "registrars use /admin" in page.get_by_role("alert").inner_text()
