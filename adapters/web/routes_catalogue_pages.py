"""The registrar's catalogue (`/admin/p/{slug}/sections`) and a section's page (`.../sections/{code}`).

Both call the JSON API's own route functions (`routes_catalogue`, `routes_queries`) or the
view methods they call, and render the same pydantic models: no second path to the data.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from regledger.adapters.http import routes_catalogue, routes_queries
from regledger.adapters.http.catalogue_models import SectionPublic
from regledger.adapters.http.naming import Names
from regledger.adapters.http.schemas import Line, LocalInstant
from regledger.adapters.web.deps import AdminSession
from regledger.adapters.web.pages import WebRoute, api_of, render
from regledger.domain.errors import InvalidInputError
from regledger.domain.subject import STATUSES
from regledger.domain.values import ENROLLED
from regledger.projections.catalogue import CatalogueFilter, SectionView, section_code_parts

router = APIRouter(include_in_schema=False, route_class=WebRoute)

PAGE = 100
FREE_CHOICES = {"": None, "free": True, "full": False, "true": True, "false": False}  # and the API's has_free
Text = Annotated[Line, Query()]  # the API's: one line, no control characters, <= 200 characters
_instant: TypeAdapter[datetime] = TypeAdapter(LocalInstant)


async def page_filter(
    session: AdminSession,
    slug: str,
    timeslot: Text = "",
    category: Text = "",
    free: Annotated[str, Query(max_length=8)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    after: Text = "",
) -> CatalogueFilter:
    """The API's filter (`routes_catalogue.catalogue_filter`) from a GET form, where "" means any."""
    if free not in FREE_CHOICES:
        raise InvalidInputError("Seats: free, full or any", free=free)
    return await routes_catalogue.catalogue_filter(
        session.principal,
        slug,
        timeslot=timeslot.strip() or None,
        category=category.strip() or None,
        has_free=FREE_CHOICES[free],
        status=[status] if status else None,
        after=after or None,
    )


@router.get("/admin/p/{slug}/sections")
def catalogue_page(
    request: Request,
    slug: str,
    session: AdminSession,
    where: Annotated[CatalogueFilter, Depends(page_filter)],
    search: Text = "",
) -> Response:
    views = api_of(request).views
    program = routes_catalogue.program_view(views, slug)
    wanted = search.strip().casefold()
    if wanted:  # the API has no text search: match code or title over the filtered list, then page
        found = [s for s in views.section_views(program.program_id, replace(where, after=None)) if _matches(s, wanted)]
        if where.after:
            found = [s for s in found if _after(s, where.after)]
    else:
        found = views.section_views(program.program_id, replace(where, limit=PAGE + 1))
    page = [SectionPublic.of(s) for s in found[:PAGE]]
    next_after = page[-1].code if len(found) > PAGE else None
    form = {k: v for k, v in request.query_params.items() if k != "after"}
    context = {
        "session": session,
        "program": program,
        "tab": "catalogue",
        "sections": page,
        "timeslots": views.timeslots(program.program_id),
        "statuses": STATUSES,
        "form": form,
        "next_url": None if next_after is None else "?" + urlencode({**form, "after": next_after}),
        "first_url": "?" + urlencode(form) if where.after else None,
    }
    return render(request, "admin/catalogue.html", context)


def _matches(section: SectionView, wanted: str) -> bool:
    return wanted in section.code.casefold() or wanted in section.class_title.casefold()


def _after(section: SectionView, after: str) -> bool:
    """Past `after` in the API's page order (class code, then section number)."""
    parts = section_code_parts(after)
    if parts is None:
        return section.class_code > after
    return (section.class_code, section.index) > parts


def _as_of(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        return _instant.validate_python(value.strip())
    except ValidationError:
        raise InvalidInputError("As of: a date and time, e.g. 2026-11-21T09:00", as_of=value) from None


@router.get("/admin/p/{slug}/sections/{code}")
def section_page(
    request: Request,
    slug: str,
    code: Annotated[str, Path(max_length=80)],
    session: AdminSession,
    as_of: Annotated[Line, Query(max_length=40)] = "",
    verbs: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """The roster lists Enrolled students; `verbs=all` adds every other verb (priorities...)."""
    views = api_of(request).views
    program = routes_catalogue.program_view(views, slug)
    section = routes_catalogue.section_by_code(session.principal, slug, code, views)
    when = _as_of(as_of)
    every = verbs == "all"
    listed = sorted({ENROLLED, *views.verb_counts(section.section_id)}) if every else [ENROLLED]
    roster = routes_queries.roster(request, section.section_id, session.principal, views, listed, when, None)
    waitlist = routes_queries.waitlist(section.section_id, session.principal, views)
    # The view method `routes_queries.section_history` calls, with keys AND names read at once.
    history = views.history(section_id=section.section_id)
    names = Names(views).load(students={i.student_id for i in history})
    context = {
        "session": session,
        "program": program,
        "tab": "catalogue",
        "section": section,
        "roster": roster,
        "enrolled": sum(1 for e in roster.entries if e.verb == ENROLLED),
        "waitlist": waitlist,
        "history": [(i, names.student(i.student_id)) for i in history],
        "as_of": as_of.strip(),
        "every_verb": every,
        "zone": ZoneInfo(program.timezone),  # times shown as the "as of" input reads them
    }
    return render(request, "admin/section.html", context)
