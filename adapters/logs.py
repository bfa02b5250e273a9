"""Where log lines go and how they look: one JSON object a line, or readable text for a terminal.

JSON (python-json-logger) carries every `extra=` field a call passes (the command lines'
command, command_id, actor, outcome, code, duration_ms, position) as a key of its own; uvicorn's
access lines get client, method, path and status. The format comes from `--log-format`, else
`REGLEDGER_LOG_FORMAT`, else json when stderr is not a terminal (a service manager or a
container collects it) and text when it is.
"""

from __future__ import annotations

import logging
import os
import sys
from enum import StrEnum
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

FORMAT_VARIABLE = "REGLEDGER_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_OURS = "_regledger_handler"  # marks the handler configure_logging installed, to replace it


class LogFormat(StrEnum):
    json = "json"
    text = "text"


def chosen_format(requested: str | None, stream: TextIO) -> LogFormat:
    """The explicit choice, else REGLEDGER_LOG_FORMAT, else by whether `stream` is a terminal."""
    name = requested or os.environ.get(FORMAT_VARIABLE, "").strip().lower()
    if name:
        return LogFormat(name)
    return LogFormat.text if stream.isatty() else LogFormat.json


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,  # ISO 8601, UTC
    )


def text_formatter() -> logging.Formatter:
    return logging.Formatter(TEXT_FORMAT)


def uvicorn_fields(record: logging.LogRecord) -> bool:
    """Give uvicorn's access lines their parts as fields (its message is a %-format of them), and
    drop the copy of the message with terminal colours that uvicorn adds to some lines."""
    if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
        record.client, record.method, record.path, _, record.status = record.args
    record.__dict__.pop("color_message", None)
    return True


def configure_logging(
    log_format: str | None = None, level: int | str = logging.WARNING, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's lines to `stream` (stderr) in the chosen format; idempotent.

    A second call replaces the handler the first installed (a command's own options refine the
    CLI-wide set-up), and leaves any other handler alone (pytest's, say)."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    fmt = chosen_format(log_format, stream)
    handler.setFormatter(json_formatter() if fmt is LogFormat.json else text_formatter())
    handler.addFilter(uvicorn_fields)
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
