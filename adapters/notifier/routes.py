"""GET /outbox (admin): the notifier's outbox, paged, optionally of one status."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from regledger.adapters.http.deps import AdminDep
from regledger.adapters.http.faults import ReadRetryRoute
from regledger.adapters.notifier.store import OutboxRow, OutboxStore, open_outbox

router = APIRouter(tags=["notifications"], route_class=ReadRetryRoute)
_opening = threading.Lock()

MAX_OFFSET = 1_000_000_000  # beyond it a store's integer overflows (SQLite: 64 bits)

Status = Literal["pending", "sent", "failed", "no_address"]


class OutboxMessagePublic(BaseModel):
    message_id: str
    position: int
    student_id: UUID
    student_key: str | None
    channel: str
    recipient: str | None
    kind: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None

    @classmethod
    def of(cls, row: OutboxRow) -> OutboxMessagePublic:
        return cls(
            message_id=row.message_id,
            position=row.position,
            student_id=row.student_id,
            student_key=row.student_key,
            channel=row.channel,
            recipient=row.recipient,
            kind=row.kind,
            subject=row.subject,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            sent_at=row.sent_at,
        )


class OutboxPagePublic(BaseModel):
    messages: list[OutboxMessagePublic]
    counts: dict[str, int]  # every message by status
    limit: int
    offset: int
    next_offset: int | None  # None: this is the last page


def _store(request: Request) -> OutboxStore:
    """The outbox of the app's store, opened on first use and closed with the app."""
    state = request.app.state
    with _opening:
        store: OutboxStore | None = getattr(state, "outbox", None)
        if store is None:
            api = state.api
            store = open_outbox(api.services.settings)
            store.create_tables()
            api.owned.append(store)
            state.outbox = store
    return store


@router.get("/outbox", response_model=OutboxPagePublic)
def get_outbox(
    _: AdminDep,
    request: Request,
    status: Annotated[Status | None, Query(description="Only messages of this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> OutboxPagePublic:
    """Messages in log order (position, student, channel): recipient, kind, status, attempts, last error."""
    store = _store(request)
    rows = store.list(status=status, limit=limit + 1, offset=offset)
    return OutboxPagePublic(
        messages=[OutboxMessagePublic.of(r) for r in rows[:limit]],
        counts=store.counts(),
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )
