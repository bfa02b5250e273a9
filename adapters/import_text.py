"""An import file's bytes as text: size and encoding checked, its format told, times read.

Shared by the CSV (`importing.py`) and JSON (`import_json.py`) readers."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Literal

from regledger.domain.errors import InvalidInputError
from regledger.domain.imports import ImportIssue, refuse

Format = Literal["csv", "json"]
MAX_FILE_BYTES = 32 * 1024 * 1024
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def read_file(path: Path) -> bytes:
    """A file's bytes, refused before reading when it is larger than MAX_FILE_BYTES."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InvalidInputError(f"{path.name} is {size} bytes; an import file is at most {MAX_FILE_BYTES}")
    return path.read_bytes()


def decode(data: bytes, what: str) -> str:
    """UTF-8 text (a byte order mark is dropped); any other encoding is refused with its line."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInputError(f"The {what} is {len(data)} bytes; an import file is at most {MAX_FILE_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = f"not UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8 (CSV UTF-8 in Excel)"
        refuse([ImportIssue(line, "", message)], what)
        raise  # unreachable: refuse raised
    if not text.strip():
        refuse([ImportIssue(1, "", "the file is empty")], what)
    return text


def detect_format(name: str, data: bytes) -> Format:
    """By the file's extension, else by its first character (`{` or `[` is JSON)."""
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".json"):
        return "json" if suffix == ".json" else "csv"
    return "json" if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "csv"


def instant(text: str) -> datetime:
    """ISO 8601 date and time, with or without an offset (`2026-11-21T09:00`, `... 09:00-05:00`)."""
    if not isinstance(text, str) or not _ISO.match(text):
        raise ValueError("must be an ISO 8601 date and time, e.g. 2026-11-21T09:00 or 2026-11-21T09:00:00-05:00")
    return datetime.fromisoformat(text)
