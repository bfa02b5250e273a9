"""Bulk import endpoints: a catalogue, timeslots and students, as JSON or CSV (docs/importing.md).

Every row is checked first: any error is a 422 whose `detail.errors` lists each one with its
line (`{line, field, message, type}`) and nothing is written. Otherwise one atomic save: 201
when something was created, 200 when only changes were made or nothing differed (and for a
dry run, which writes nothing, and a replayed Idempotency-Key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from regledger.adapters.http.deps import AdminCommandDep, ApiError, Command, ReasonQuery, SlugPath
from regledger.adapters.http.responses import ErrorPublic
from regledger.adapters.http.schemas import QueryFlag
from regledger.adapters.import_json import CatalogueDocument, StudentsDocument, TimeslotsDocument
from regledger.adapters.import_text import Format
from regledger.adapters.importing import read_catalogue, read_students, read_timeslots
from regledger.domain.catalogue_entries import Catalogue
from regledger.domain.ids import program_id
from regledger.domain.imports import ImportResult

router = APIRouter(tags=["import"])

MEDIA_TYPES: dict[str, Format] = {"application/json": "json", "text/csv": "csv"}


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


@dataclass(frozen=True)
class Upload:
    format: Format
    data: bytes


async def upload(request: Request) -> Upload:
    """The raw body and its format, from Content-Type (the body cap applies as it is read)."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            "Send the file as application/json or text/csv", content_type=media, accepted=sorted(MEDIA_TYPES)
        )
    return Upload(MEDIA_TYPES[media], await request.body())


UploadDep = Annotated[Upload, Depends(upload)]
DryRunQuery = Annotated[QueryFlag, Query(description="true: check and answer the plan; write nothing.")]


class CountsPublic(BaseModel):
    created: int
    changed: int
    unchanged: int


class PlannedChangePublic(BaseModel):
    kind: str
    name: str
    action: str
    fields: list[str]
    line: int | None


class ImportIssuePublic(BaseModel):
    line: int | None
    field: str
    message: str
    type: str


class ImportResultPublic(BaseModel):
    """What an import did (or, for a dry run, would do): counts per kind, each creation and
    change, warnings (e.g. a section of capacity 0) and notes (e.g. sections left as they are)."""

    command_id: str
    outcome: str
    position: int
    replayed: bool
    dry_run: bool
    ids: dict[str, str]
    counts: dict[str, CountsPublic]
    changes: list[PlannedChangePublic]
    warnings: list[ImportIssuePublic]
    notes: list[str]


RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": ImportResultPublic, "description": "Imported; something was created"},
    415: {"model": ErrorPublic, "description": "Not application/json or text/csv (`unsupported_media_type`)"},
    422: {
        "model": ErrorPublic,
        "description": "The file has errors (`invalid_input`): `detail.errors` lists each with its line; "
        "nothing was written",
    },
}


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` inlined (an OpenAPI body here is not a component)."""
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return dict(inline(schema))


def _body(model: type[BaseModel], csv_example: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inlined(model.model_json_schema())},
                "text/csv": {"schema": {"type": "string"}, "example": csv_example},
            },
        }
    }


CATALOGUE_CSV = "code,title,category,class_size_max,section,timeslots\nM101,Knot Theory,Math,20,1,Sat 9:00\n"
TIMESLOTS_CSV = "label,start,end\nSat 9:00,2026-11-21T09:00,2026-11-21T09:50\n"
STUDENTS_CSV = "key,name,graduation_year,email\ns0001,Ada Lovelace,2029,ada@example.org\n"


def _respond(cmd: Command, result: ImportResult) -> ImportResultPublic:
    created = result.created and not result.dry_run and not result.replayed
    cmd.response.status_code = 201 if created else 200
    return ImportResultPublic.model_validate(result.as_dict())


def _import_catalogue(cmd: Command, slug: str, catalogue: Catalogue, reason: str, dry_run: bool) -> ImportResultPublic:
    result = cmd.app.import_catalogue(program_id(slug), catalogue, cmd.ctx(reason=reason), dry_run=dry_run)
    return _respond(cmd, result)


@router.post(
    "/programs/{slug}/catalogue",
    responses=RESPONSES,
    summary="Import a catalogue: timeslots, classes and sections (JSON or CSV)",
    openapi_extra=_body(CatalogueDocument, CATALOGUE_CSV),
)
def import_catalogue(
    cmd: AdminCommandDep, slug: SlugPath, body: UploadDep, dry_run: DryRunQuery = False, reason: ReasonQuery = ""
) -> ImportResultPublic:
    """A changed row becomes only its change events; the same file twice changes nothing.
    Sections a class has but the file does not list are left as they are. CSV holds classes
    and sections; send its timeslots first (`/timeslots/import`) or use JSON."""
    return _import_catalogue(cmd, slug, read_catalogue(body.data, body.format), reason, dry_run)


@router.post(
    "/programs/{slug}/timeslots/import",
    responses=RESPONSES,
    summary="Import timeslots (JSON or CSV label,start,end)",
    openapi_extra=_body(TimeslotsDocument, TIMESLOTS_CSV),
)
def import_timeslots(
    cmd: AdminCommandDep, slug: SlugPath, body: UploadDep, dry_run: DryRunQuery = False, reason: ReasonQuery = ""
) -> ImportResultPublic:
    """Times without an offset are read in the program's timezone; a timeslot cannot change."""
    timeslots = Catalogue(timeslots=read_timeslots(body.data, body.format))
    return _import_catalogue(cmd, slug, timeslots, reason, dry_run)


@router.post(
    "/programs/{slug}/students/import",
    responses=RESPONSES,
    summary="Import students: registered with their profiles (JSON or CSV)",
    openapi_extra=_body(StudentsDocument, STUDENTS_CSV),
)
def import_students(
    cmd: AdminCommandDep, slug: SlugPath, body: UploadDep, dry_run: DryRunQuery = False, reason: ReasonQuery = ""
) -> ImportResultPublic:
    """A known student changes only if its row differs (name, graduation year, email)."""
    students = read_students(body.data, body.format)
    result = cmd.app.import_students(program_id(slug), students, cmd.ctx(reason=reason), dry_run=dry_run)
    return _respond(cmd, result)
