"""Answers as CSV for spreadsheets: `?format=csv` or `Accept: text/csv` on any list a
registrar exports (rosters, schedules, history, the catalogue, students, a lottery assignment).

The rows are written by the standard library's csv module (RFC 4180 quoting); a cell that a
spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`, the
OWASP advice against CSV injection, since student-typed names end up in these files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Query, Request
from fastapi.responses import Response

FormatQuery = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="`csv` for a spreadsheet (same as `Accept: text/csv`); default JSON"),
]
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV when asked"}
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_requested(output: str | None, accept: str | None) -> bool:
    """CSV for `?format=csv`; without `format`, when Accept ranks text/csv at least as high as JSON."""
    if output is not None:
        return output == "csv"
    quality: dict[str, float] = {}
    for part in (accept or "").lower().split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media] = max(q, quality.get(media, 0.0))
    csv_quality = quality.get("text/csv", 0.0)
    return csv_quality > 0 and csv_quality >= quality.get("application/json", 0.0)


def wants_csv(request: Request, fmt: str | None) -> bool:
    return csv_requested(fmt, request.headers.get("accept"))


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return " ".join(cell(v) for v in value)
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )
