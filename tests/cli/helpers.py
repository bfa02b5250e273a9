"""Helpers of the CLI tests: command contexts and the machine-readable outputs parsed."""

from __future__ import annotations

import csv
import io
import json

from regledger.domain.values import CommandContext


def admin(reason=""):
    return CommandContext(actor="admin:test", reason=reason)


def student(slug, key):
    return CommandContext(actor=f"student:{slug}/{key}")


def parse_json(result):
    return json.loads(result.stdout)


def parse_csv(result):
    """(header, rows) of a CSV output; the header row must name the columns."""
    reader = csv.DictReader(io.StringIO(result.stdout))
    rows = list(reader)
    assert reader.fieldnames, result.stdout
    return list(reader.fieldnames), rows
