"""The registrar's audit log (`/admin/p/{slug}/audit`): every event of the program, filtered.

The filters are a GET form (actor, student key, section code, event kind, time range), so a
filtered page is a link one can keep. Pages of 100 rows by log position, as the API pages
(`routes_audit`, whose functions this page calls: same query, same rows, same CSV);
"Previous" reads the rows before the page's first in the other order. The CSV link is a
route of its own (`audit.csv`): a browser link carries the session cookie, not a bearer token.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from regledger.adapters.http import routes_audit, routes_catalogue
from regledger.adapters.http.schemas import LocalInstant
from regledger.adapters.web.deps import AdminSession
from regledger.adapters.web.pages import WebRoute, api_of, render
from regledger.domain.errors import InvalidInputError
from regledger.projections.audit import EVENT_KINDS
from regledger.projections.audit_views import AuditQuery
from regledger.projections.views import RegistrationViews

router = APIRouter(include_in_schema=False, route_class=WebRoute)

PAGE = 100
Field = Annotated[str, Query(max_length=200)]
_INSTANT = TypeAdapter(LocalInstant)


def _instant(value: str, label: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        return _INSTANT.validate_python(value.strip())
    except ValidationError:
        raise InvalidInputError(f"{label}: not a date and time (e.g. 2026-11-21T09:00)", value=value) from None


def _query(views: RegistrationViews, slug: str, form: dict[str, str], after: int | None) -> AuditQuery:
    """The API's query for the form (raises InvalidInputError with the API's message)."""
    return routes_audit.audit_query(
        views,
        slug,
        actor=form["actor"].strip() or None,
        student=form["student"].strip() or None,
        section=form["section"].strip() or None,
        kind=[form["kind"]] if form["kind"] else None,
        since=_instant(form["since"], "From"),
        until=_instant(form["until"], "Until"),
        after=after,
        limit=PAGE,
        order="oldest" if form["order"] == "oldest" else "newest",
    )


def _previous(views: RegistrationViews, slug: str, query: AuditQuery, first: int) -> int | None:
    """The `after` of the page before one starting at position `first` (None: the first page)."""
    before = routes_audit.audit_page(views, slug, replace(query, after=first, oldest_first=not query.oldest_first))
    if before.next_after is None:  # no more than a page before it: that page is the first
        return None
    return before.entries[-1].position + (-1 if query.oldest_first else 1)


def audit_form(
    actor: Field = "",
    student: Field = "",
    section: Field = "",
    kind: Field = "",
    since: Field = "",
    until: Field = "",
    order: Field = "",
) -> dict[str, str]:
    """The filter form's fields, as the page and its CSV link both take them."""
    fields = {"actor": actor, "student": student, "section": section, "kind": kind, "since": since, "until": until}
    return fields | {"order": order if order == "oldest" else ""}


AuditForm = Annotated[dict[str, str], Depends(audit_form)]


def _link(path: str, form: dict[str, str], **extra: Any) -> str:
    params = {k: v for k, v in form.items() if v} | {k: v for k, v in extra.items() if v is not None}
    return path + ("?" + urlencode(params) if params else "")


@router.get("/admin/p/{slug}/audit")
def audit_page(
    request: Request,
    slug: str,
    session: AdminSession,
    form: AuditForm,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    views = api_of(request).views
    program = routes_catalogue.program_view(views, slug)
    base = f"/admin/p/{slug}/audit"
    context: dict[str, Any] = {
        "session": session,
        "program": program,
        "tab": "audit",
        "form": form,
        "kinds": list(EVENT_KINDS),
        "entries": [],
        "error": None,
        "next_url": None,
        "previous_url": None,
        "csv_url": _link(f"{base}.csv", form),
        "zone": ZoneInfo(program.timezone),
    }
    try:
        query = _query(views, slug, form, after)
    except InvalidInputError as error:
        context["error"] = error.message
        return render(request, "admin/audit.html", context, 422)
    page = routes_audit.audit_page(views, slug, query)
    context["entries"] = page.entries
    if page.next_after is not None:
        context["next_url"] = _link(base, form, after=page.next_after)
    if after is not None and page.entries:
        context["previous_url"] = _link(base, form, after=_previous(views, slug, query, page.entries[0].position))
    elif after is not None:
        context["previous_url"] = _link(base, form)
    return render(request, "admin/audit.html", context)


@router.get("/admin/p/{slug}/audit.csv")
def audit_csv(request: Request, slug: str, _session: AdminSession, form: AuditForm) -> Response:
    """The API's CSV export of the filtered log (what `GET /programs/{slug}/audit?format=csv` answers)."""
    views = api_of(request).views
    routes_catalogue.program_view(views, slug)
    query = _query(views, slug, form, None)
    response: Response = routes_audit.audit_csv(views, slug, query, whole=True)
    return response
