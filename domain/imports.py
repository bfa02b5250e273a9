"""What every bulk import answers: its plan (created, changed, unchanged), its errors and warnings.

An import checks every entry first and collects every error with the line it came from, so
the caller can report them all at once; nothing is written unless there is none. The plan
compares the file with the current aggregates: only what differs becomes events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from regledger.domain.errors import InvalidInputError, RegistrationError
from regledger.domain.runner import CommandResult

P = ParamSpec("P")
T = TypeVar("T")
ACTIONS = ("created", "changed", "unchanged")
# Every error of an import is a value a rule refused (pydantic's name for it, which the HTTP
# edge's own 422s use too), so clients read both kinds of error list the same way.
ERROR_TYPE = "value_error"


@dataclass(frozen=True)
class ImportIssue:
    """An error or a warning about one entry: its line in the file (None if not from a file)."""

    line: int | None
    field: str
    message: str
    type: str = ERROR_TYPE  # or the JSON reader's (pydantic's) kind of error

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message, "type": self.type}

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "(no line)"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True)
class PlannedChange:
    """One thing an import creates or changes (`fields`: what changes)."""

    kind: str  # timeslot, class, section, student
    name: str  # its label, code, section code or key
    action: str  # created or changed
    fields: tuple[str, ...] = ()
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "fields": list(self.fields),
            "line": self.line,
        }


@dataclass(frozen=True)
class ImportResult(CommandResult):
    """A command's result plus the plan: counts per kind and action, what changes, warnings."""

    dry_run: bool = False
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    changes: tuple[PlannedChange, ...] = ()
    warnings: tuple[ImportIssue, ...] = ()
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The whole answer as JSON-ready values (the CLI's --json, the HTTP API's body)."""
        return {
            "command_id": self.command_id,
            "outcome": self.outcome,
            "position": self.position,
            "replayed": self.replayed,
            "dry_run": self.dry_run,
            "ids": dict(self.ids),
            "counts": {kind: dict(actions) for kind, actions in self.counts.items()},
            "changes": [c.as_dict() for c in self.changes],
            "warnings": [w.as_dict() for w in self.warnings],
            "notes": list(self.notes),
        }

    @property
    def created(self) -> int:
        return sum(c["created"] for c in self.counts.values())

    @property
    def changed(self) -> int:
        return sum(c["changed"] for c in self.counts.values())


class Plan:
    """Collects an import's plan, errors and warnings as it checks every entry."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.counts = {kind: dict.fromkeys(ACTIONS, 0) for kind in kinds}
        self.changes: list[PlannedChange] = []
        self.errors: list[ImportIssue] = []
        self.warnings: list[ImportIssue] = []
        self.notes: list[str] = []

    def record(self, kind: str, name: str, action: str, line: int | None, fields: Iterable[str] = ()) -> None:
        self.counts[kind][action] += 1
        if action != "unchanged":
            self.changes.append(PlannedChange(kind, name, action, tuple(fields), line))

    def error(self, line: int | None, field_: str, message: str) -> None:
        self.errors.append(ImportIssue(line, field_, message))

    def warn(self, line: int | None, field_: str, message: str) -> None:
        self.warnings.append(ImportIssue(line, field_, message, "warning"))

    def attempt(self, line: int | None, field_: str, check: Callable[P, object], *args: P.args, **kw: P.kwargs) -> bool:
        """Run one domain check or change; a refusal becomes an error of this line (False)."""
        try:
            check(*args, **kw)
        except RegistrationError as refusal:
            self._refused(line, field_, refusal)
            return False
        return True

    def checked(self, line: int | None, field_: str, check: Callable[P, T], *args: P.args, **kw: P.kwargs) -> T | None:
        """`check(...)`'s value; a refusal becomes an error of this line (None)."""
        try:
            return check(*args, **kw)
        except RegistrationError as refusal:
            self._refused(line, field_, refusal)
            return None

    def _refused(self, line: int | None, field_: str, refusal: RegistrationError) -> None:
        named = refusal.detail.get("field")  # check_text names the field it refused
        self.error(line, named if isinstance(named, str) and named else field_, refusal.message)

    def bounded(self, line: int | None, field_: str, value: int | None, low: int, high: int) -> bool:
        """An optional whole number within [low, high] (sizes and grades the views can store)."""
        if value is None or low <= value <= high:
            return True
        if value < 0 <= low:
            self.error(line, field_, f"{field_} must not be negative")
        else:
            self.error(line, field_, f"{field_} must be between {low} and {high}")
        return False

    def refuse_if_errors(self, what: str) -> None:
        """Raise one InvalidInputError listing every error (nothing has been written)."""
        refuse(self.errors, what)

    def result(self, base: CommandResult, *, dry_run: bool, outcome: str | None = None) -> ImportResult:
        ids = dict(base.ids)
        for kind, actions in self.counts.items():
            for action, count in actions.items():
                ids[f"{kind}_{action}"] = str(count)
        return ImportResult(
            command_id=base.command_id,
            outcome=outcome or base.outcome,
            position=base.position,
            replayed=base.replayed,
            ids=ids,
            dry_run=dry_run,
            counts={kind: dict(actions) for kind, actions in self.counts.items()},
            changes=tuple(self.changes),
            warnings=tuple(self.warnings),
            notes=tuple(self.notes),
        )


def refuse(errors: Sequence[ImportIssue], what: str) -> None:
    """If there are errors, raise one InvalidInputError listing them all, by line."""
    if not errors:
        return
    ordered = sorted(errors, key=lambda e: (e.line is None, e.line or 0))
    raise InvalidInputError(
        f"The {what} has {plural(len(ordered), 'error')}; nothing was imported. First: {ordered[0]}",
        errors=[e.as_dict() for e in ordered],
        fields=sorted({e.field for e in ordered}),
    )


def at_line(line: int | None) -> str:
    """Where an earlier entry was: `line 12`, or for entries not read from a file, that."""
    return f"line {line}" if line is not None else "an earlier entry"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
