"""Query output in three formats: rich tables for people, JSON for programs, CSV for spreadsheets.

A query builds a `Listing` (typed cells: ids, times, numbers, lists) and `emit` renders it. JSON
is one document (ids as strings, times ISO 8601); CSV is a header row, then one row per line,
written by the stdlib `csv` module. Tables fold long cells onto more lines instead of cutting
them, so nothing is lost at 80 columns.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.table import Table

from regledger.adapters.cli_common import console


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="table (for people), json (one document: ids as strings, ISO 8601 times) "
        "or csv (a header row, then one row per line).",
    ),
]


@dataclass(frozen=True)
class Column:
    key: str  # the JSON field and the CSV header
    header: str = ""  # the table's heading (default: the key)
    in_table: bool = True  # ids a person need not read stay in JSON and CSV only
    in_data: bool = True  # False: a table-only rendering of cells JSON and CSV hold apart


@dataclass(frozen=True)
class Listing:
    """Rows of typed cells under named columns; `single` is one record (a table of fields)."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    caption: str = ""
    items: str = "rows"  # the JSON document's name for the rows
    about: Mapping[str, Any] = field(default_factory=dict)  # JSON only: what the rows are of
    zone: tzinfo = UTC  # times are shown where the program happens
    single: bool = False

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns if c.in_data]

    def data(self) -> list[list[tuple[Column, Any]]]:
        return [[(c, v) for c, v in zip(self.columns, row, strict=True) if c.in_data] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        return [{c.key: json_value(v, self.zone) for c, v in row} for row in self.data()]


def cols(*specs: str | Column) -> list[Column]:
    """`"key"` or `"key:Header"` or a Column, in order."""
    out = []
    for spec in specs:
        if isinstance(spec, Column):
            out.append(spec)
        else:
            key, _, header = spec.partition(":")
            out.append(Column(key, header))
    return out


def json_value(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v, zone) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v, zone) for k, v in value.items()}
    return value


def csv_value(value: Any, zone: tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(csv_value(v, zone) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(json_value(value, zone), ensure_ascii=False)
    return str(json_value(value, zone))


def table_value(value: Any, zone: tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        # Local, to the second; the caption names the zone.
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return "\n".join(table_value(v, zone) for v in value)
    return str(json_value(value, zone))


def rich_table(listing: Listing) -> Table:
    # Title and caption are printed around the table, not in it: in it they wrap to its width.
    out = Table()
    shown = [(n, c) for n, c in enumerate(listing.columns) if c.in_table]
    if listing.single:
        out.add_column("field", overflow="fold")
        out.add_column("value", overflow="fold")
        for row in listing.rows:
            for n, column in shown:
                out.add_row(column.header or column.key, table_value(row[n], listing.zone))
        return out
    for _, column in shown:
        out.add_column(column.header or column.key, overflow="fold")
    for row in listing.rows:
        out.add_row(*(table_value(row[n], listing.zone) for n, _ in shown))
    return out


def print_table(listing: Listing) -> None:
    console.print(listing.title, markup=False, highlight=False)
    console.print(rich_table(listing), highlight=False)
    if listing.caption:
        console.print(listing.caption, markup=False, highlight=False)


def write_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def write_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def emit(listing: Listing, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.table:
        print_table(listing)
    elif fmt is OutputFormat.json:
        records = listing.records()
        if listing.single:
            write_json({**json_value(dict(listing.about), listing.zone), **(records[0] if records else {})})
        else:
            write_json({**json_value(dict(listing.about), listing.zone), listing.items: records})
    else:
        write_csv(listing.keys, [[csv_value(v, listing.zone) for _, v in row] for row in listing.data()])


def emit_parts(parts: Sequence[Listing], fmt: OutputFormat, document: Mapping[str, Any]) -> None:
    """Several listings about one thing: tables one after another, the JSON `document`, or one
    CSV in long form (part, name, field, value: a row's first cell names it)."""
    if fmt is OutputFormat.table:
        for part in parts:
            print_table(part)
    elif fmt is OutputFormat.json:
        write_json(document)
    else:
        rows = [
            [part.items, csv_value(row[0][1], part.zone), column.key, csv_value(value, part.zone)]
            for part in parts
            for row in part.data()
            for column, value in row[1:]
        ]
        write_csv(["part", "name", "field", "value"], rows)
