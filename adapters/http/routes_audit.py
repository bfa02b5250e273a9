"""The audit log of a program: every event, who recorded it, when and why (admins only).

`GET /programs/{slug}/audit` filters by actor, student (key), section (code), event kind and
time range, all together. Pages are by log position, newest first unless `order=oldest`: a
page's `next_after` is the `after` of the page that follows (absent on the last page), so
paging costs the same anywhere in the log and no row is skipped or repeated while events are
added. As CSV (`?format=csv` or `Accept: text/csv`) the answer is the whole filtered log from
`after` on (up to `EXPORT_MAX` rows; `X-Next-After` names where to go on past that), unless
`limit` is given: then the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from regledger.adapters.http.deps import AdminDep, KnownProgram, ViewsDep
from regledger.adapters.http.faults import ReadRetryRoute
from regledger.adapters.http.routes_queries import local
from regledger.adapters.http.schemas import KEY_PATTERN, LocalInstant
from regledger.adapters.http.tabular import CSV_RESPONSES, FormatQuery, csv_response, wants_csv
from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import program_id, student_id
from regledger.domain.values import unsafe_character
from regledger.projections.audit import kinds_named
from regledger.projections.audit_views import MAX_LIMIT, AuditEntry, AuditQuery
from regledger.projections.catalogue import section_id_of_code
from regledger.projections.views import RegistrationViews

router = APIRouter(tags=["audit"], route_class=ReadRetryRoute)

EXPORT_MAX = 200_000  # rows of one CSV export (a Splash season's log is ~170k events)
Order = Literal["newest", "oldest"]
CSV_COLUMNS = (
    "position",
    "recorded_at",
    "aggregate_kind",
    "event_kind",
    "summary",
    "actor",
    "reason",
    "cause",
    "student_key",
    "student_name",
    "section_code",
    "class_code",
    "class_title",
    "detail",
    "command_id",
    "student_id",
    "section_id",
    "subject_id",
    "aggregate_id",
    "related_id",
)


class AuditEntryPublic(BaseModel):
    position: int
    recorded_at: datetime
    aggregate_kind: str
    event_kind: str
    summary: str
    actor: str
    reason: str
    cause: str
    command_id: str
    aggregate_id: UUID
    student_id: UUID | None
    student_key: str | None
    student_name: str | None
    section_id: UUID | None
    section_code: str | None
    subject_id: UUID | None
    class_code: str | None
    class_title: str | None
    related_id: UUID | None
    related_code: str | None
    detail: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryPublic:
        return cls.model_construct(**_fields(e))  # unvalidated: typed rows of the views


class AuditPagePublic(BaseModel):
    position: int  # the views' position when read
    slug: str
    order: Order
    after: int | None
    limit: int
    next_after: int | None  # `after` of the next page; None on the last one
    entries: list[AuditEntryPublic]


def _fields(e: AuditEntry) -> dict[str, Any]:
    return {**vars(e), "aggregate_kind": e.aggregate_kind, "summary": e.summary}


ActorQuery = Annotated[str | None, Query(max_length=200, description="Only events recorded by this actor")]
StudentQuery = Annotated[
    str | None, Query(pattern=KEY_PATTERN, description="Only events about this student (their key)")
]
SectionQuery = Annotated[
    str | None, Query(pattern=KEY_PATTERN, description="Only events about this section (its code, e.g. M101s1)")
]
KindQuery = Annotated[
    list[str] | None,
    Query(
        max_length=20,
        description="Only these event kinds: `Aggregate.Event` (e.g. `Section.StudentEnrolled`) or the class name "
        "alone (`StudentEnrolled`; `Created` names every aggregate's)",
    ),
]
TimeQuery = Annotated[LocalInstant | None, Query(description="ISO 8601; no offset: the program's timezone")]
AfterQuery = Annotated[int | None, Query(ge=0, description="The `next_after` of the page before")]
LimitQuery = Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="Rows a page (default 100)")]
OrderQuery = Annotated[Order, Query(description="`newest` first (default) or `oldest` first")]


def audit_query(
    views: RegistrationViews,
    slug: str,
    *,
    actor: str | None = None,
    student: str | None = None,
    section: str | None = None,
    kind: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: int | None = None,
    limit: int = 100,
    order: Order = "newest",
) -> AuditQuery:
    """The views' query for the route's parameters (422 for an unknown kind or a malformed code)."""
    pid = program_id(slug)
    if actor and unsafe_character(actor):  # PostgreSQL cannot compare text with NUL
        raise InvalidInputError("An actor has no control characters", actor=actor.encode("unicode_escape").decode())
    kinds: list[str] = []
    for name in kind or ():
        named = kinds_named(name.strip())
        if not named:
            raise InvalidInputError("No such event kind", kind=name)
        kinds.extend(k for k in named if k not in kinds)
    section_id = None
    if section:
        section_id = section_id_of_code(pid, section)
        if section_id is None:
            raise InvalidInputError("Not a section code (class code, `s`, number)", section=section)
    return AuditQuery(
        student_id=student_id(pid, student) if student else None,
        section_id=section_id,
        actor=actor or None,
        kinds=tuple(kinds),
        since=local(views, pid, since),
        until=local(views, pid, until),
        after=after,
        limit=limit,
        oldest_first=order == "oldest",
    )


def audit_page(views: RegistrationViews, slug: str, query: AuditQuery) -> AuditPagePublic:
    """One page (one row more is read to know whether another page follows)."""
    position = views.position()
    rows = views.audit(program_id(slug), replace(query, limit=query.limit + 1))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return AuditPagePublic(
        position=position,
        slug=slug,
        order="oldest" if query.oldest_first else "newest",
        after=query.after,
        limit=query.limit,
        next_after=rows[-1].position if more and rows else None,
        entries=[AuditEntryPublic.of(e) for e in rows],
    )


def export_rows(views: RegistrationViews, slug: str, query: AuditQuery) -> tuple[list[dict[str, Any]], int | None]:
    """Every row the query's filters pass from `query.after` on, in pages of MAX_LIMIT, up to
    EXPORT_MAX; and the `after` to go on from if there are more."""
    out: list[dict[str, Any]] = []
    for entry in all_entries(views, program_id(slug), query):
        if len(out) == EXPORT_MAX:
            return out, out[-1]["position"]
        out.append(_fields(entry))
    return out, None


def all_entries(views: RegistrationViews, pid: UUID, query: AuditQuery) -> Iterator[AuditEntry]:
    after = query.after
    while True:
        rows = views.audit(pid, replace(query, after=after, limit=MAX_LIMIT))
        yield from rows
        if len(rows) < MAX_LIMIT:
            return
        after = rows[-1].position


def audit_csv(views: RegistrationViews, slug: str, query: AuditQuery, *, whole: bool) -> Any:
    """The CSV answer: the page, or (`whole`) the export from `query.after` on."""
    if whole:
        rows, next_after = export_rows(views, slug, query)
    else:
        rows, next_after = [_fields(e) for e in views.audit(program_id(slug), query)], None
    response = csv_response(CSV_COLUMNS, rows, f"audit-{slug}")
    if next_after is not None:
        response.headers["X-Next-After"] = str(next_after)
    return response


@router.get(
    "/programs/{slug}/audit",
    summary="The program's event log: who did what, when and why; filtered, paged by position, CSV on request",
    responses=CSV_RESPONSES,
    response_model=AuditPagePublic,
)
def audit(
    request: Request,
    slug: KnownProgram,
    _admin: AdminDep,
    views: ViewsDep,
    actor: ActorQuery = None,
    student: StudentQuery = None,
    section: SectionQuery = None,
    kind: KindQuery = None,
    since: TimeQuery = None,
    until: TimeQuery = None,
    after: AfterQuery = None,
    limit: LimitQuery = None,
    order: OrderQuery = "newest",
    fmt: FormatQuery = None,
) -> Any:
    query = audit_query(
        views,
        slug,
        actor=actor,
        student=student,
        section=section,
        kind=kind,
        since=since,
        until=until,
        after=after,
        limit=limit or 100,
        order=order,
    )
    if wants_csv(request, fmt):
        return audit_csv(views, slug, query, whole=limit is None)
    return audit_page(views, slug, query)
