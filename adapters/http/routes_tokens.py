"""Admin token endpoints: create, list and revoke bearer tokens; a program's student tokens in bulk.

A token's secret appears only in the answer that creates it (marked `Cache-Control: no-store`);
the store keeps its SHA-256 and logs every creation and revocation with the token id and actor.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from regledger.adapters.auth import MAX_BATCH, TokenRecord, check_role, check_subject, student_tokens_csv
from regledger.adapters.http.deps import AdminDep, ApiDep, KnownProgram, check_program
from regledger.adapters.http.schemas import Flag, Key, QueryFlag
from regledger.adapters.http.tabular import csv_requested
from regledger.domain.errors import NotFoundError
from regledger.domain.values import KEY_RULE

router = APIRouter(tags=["tokens"])

NO_STORE = {"Cache-Control": "no-store"}  # answers that carry secrets must not be kept by any cache
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
PAGE_MAX = 1000

TokenIdPath = Annotated[
    str,
    Path(pattern=r"^(rl_)?[0-9a-f]{16}$", description="The token id, `rl_<16 hex>`", examples=["rl_0f3a9c2e1b7d4a58"]),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(keys: list[str]) -> list[str]:
    repeated = sorted(key for key, n in Counter(keys).items() if n > 1)
    if repeated:
        raise ValueError(f"each student key may appear once; repeated: {', '.join(repeated[:20])}")
    return keys


class TokenCreateRequest(_Body):
    role: Literal["admin", "student"]
    subject: Annotated[str, StringConstraints(pattern=f"^{KEY_RULE}(/{KEY_RULE})?$")] = Field(
        description="admin: a name; student: `SLUG/KEY` (the program must exist)", examples=["splash/s1024"]
    )


class StudentTokensRequest(_Body):
    student_keys: Annotated[
        list[Key],
        Field(min_length=1, max_length=MAX_BATCH, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_unique),
    ] = Field(description=f"1 to {MAX_BATCH} student keys, each once", examples=[["s1024", "s1025"]])
    revoke_existing: Flag = Field(
        default=False, description="Also revoke these students' earlier active tokens (same transaction)."
    )


class TokenPublic(BaseModel):
    """A stored token: never its secret."""

    token_id: str
    role: str
    subject: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, record: TokenRecord) -> TokenPublic:
        return cls(
            token_id=record.public_id,
            role=record.role,
            subject=record.subject,
            created_at=datetime.fromisoformat(record.created_at),
            revoked_at=None if record.revoked_at is None else datetime.fromisoformat(record.revoked_at),
        )


class TokenCreatedPublic(TokenPublic):
    token: str = Field(description="The bearer token. Shown only in this answer: only its hash is stored.")


class TokenPagePublic(BaseModel):
    tokens: list[TokenPublic]
    offset: int
    limit: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last page")


class StudentTokenPublic(BaseModel):
    student_key: str
    token_id: str
    token: str


class StudentTokensPublic(BaseModel):
    slug: str
    created: int
    revoked_token_ids: list[str] = Field(description="Earlier tokens revoked (only with revoke_existing)")
    tokens: list[StudentTokenPublic] = Field(description="In the order of student_keys; shown only in this answer")


@router.post("/tokens", status_code=201, summary="Create a token (its secret is shown only in this answer)")
def create_token(admin: AdminDep, api: ApiDep, body: TokenCreateRequest, response: Response) -> TokenCreatedPublic:
    role = check_role(body.role)
    check_subject(role, body.subject)
    if role == "student":
        check_program(api, body.subject.partition("/")[0])
    [issued] = api.tokens.create_many(role, [body.subject], actor=admin.actor).tokens
    response.headers.update(NO_STORE)
    return TokenCreatedPublic(**TokenPublic.of(issued.record).model_dump(), token=issued.token)


@router.get("/tokens", summary="List tokens, oldest first (never their secrets)")
def list_tokens(
    _admin: AdminDep,
    api: ApiDep,
    role: Annotated[Literal["admin", "student"] | None, Query(description="Only this role")] = None,
    program: Annotated[Key | None, Query(description="Only student tokens of this program (slug)")] = None,
    active: Annotated[QueryFlag | None, Query(description="true: only unrevoked; false: only revoked")] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
) -> TokenPagePublic:
    records = api.tokens.list(role=role, program=program, active=active, offset=offset, limit=limit + 1)
    return TokenPagePublic(
        tokens=[TokenPublic.of(r) for r in records[:limit]],
        offset=offset,
        limit=limit,
        next_offset=offset + limit if len(records) > limit else None,
    )


@router.delete("/tokens/{token_id}", summary="Revoke a token (401 with it from then on)")
def revoke_token(admin: AdminDep, api: ApiDep, token_id: TokenIdPath) -> TokenPublic:
    record = api.tokens.get(token_id) if api.tokens.revoke(token_id, actor=admin.actor) else None
    if record is None:
        raise NotFoundError("No active token with this id (unknown or already revoked)", token_id=token_id)
    return TokenPublic.of(record)


CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "The new tokens: JSON, or CSV (`student_key,token_id,token`) for `?format=csv` or "
        "`Accept: text/csv`",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "student_key,token_id,token\r\ns1024,rl_0f3a9c2e1b7d4a58,rl_0f3a9c2e1b7d4a58.secret\r\n",
            }
        },
    }
}


@router.post(
    "/programs/{slug}/student-tokens",
    status_code=201,
    response_model=StudentTokensPublic,
    responses=CSV_ANSWER,
    summary="Create one student token per key, in one transaction (shown only in this answer)",
    description=(
        f"Every key is checked first (1 to {MAX_BATCH}, each once, the key rule of every other "
        "endpoint): one bad key and nothing is created (422). An unknown program answers 404. "
        "A student's earlier tokens stay valid beside the new one unless `revoke_existing` is "
        "true, which revokes them in the same transaction. The answer is JSON, or CSV "
        "(`student_key,token_id,token`) for `?format=csv` or `Accept: text/csv`."
    ),
)
def create_student_tokens(
    admin: AdminDep,
    api: ApiDep,
    slug: KnownProgram,
    body: StudentTokensRequest,
    output: Annotated[Literal["json", "csv"] | None, Query(alias="format", description="Overrides Accept")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    subjects = [f"{slug}/{key}" for key in body.student_keys]
    batch = api.tokens.create_many("student", subjects, actor=admin.actor, revoke_existing=body.revoke_existing)
    if csv_requested(output, accept):
        headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{slug}-student-tokens.csv"'}
        return Response(student_tokens_csv(batch.tokens), 201, headers, media_type=CSV_MEDIA_TYPE)
    answer = StudentTokensPublic(
        slug=slug,
        created=len(batch.tokens),
        revoked_token_ids=batch.revoked,
        tokens=[
            StudentTokenPublic(student_key=t.student_key, token_id=t.record.public_id, token=t.token)
            for t in batch.tokens
        ],
    )
    return Response(answer.model_dump_json(), 201, NO_STORE, media_type="application/json")
