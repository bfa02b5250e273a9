"""The NoShowSweep aggregate: one bulk unenrolment of students who did not check in, and its undo.

It records what the sweep planned to end (per student key, the section ids), so the undo knows
what to give back even after the seats moved on; the seats themselves end and return through
ordinary Student and Section events (causes `no_show` and `no_show_undone`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from regledger.domain.audited import AuditedAggregate
from regledger.domain.errors import rule
from regledger.domain.ids import ProgramId, TimeslotId

SweepUndone = rule("sweep_undone")


class NoShowSweep(AuditedAggregate):
    """Its id derives from the program and the sweeping command's id, so a retry finds it."""

    class Planned(AuditedAggregate.Created):
        program_id: ProgramId
        timeslot_id: TimeslotId
        removed: dict[str, list[str]]

    class Undone(AuditedAggregate.Event):
        restored: dict[str, list[str]]
        not_restored: dict[str, dict[str, str]]

    @staticmethod
    def create_id(program_id: ProgramId, command_id: str) -> UUID:
        return uuid5(program_id, f"no-show-sweep/{command_id}")

    @event(Planned)
    def __init__(
        self,
        program_id: ProgramId,
        timeslot_id: TimeslotId,
        removed: dict[str, list[str]],
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.program_id = program_id
        self.timeslot_id = timeslot_id
        self.removed = {k: list(v) for k, v in removed.items()}
        self.undone = False
        self.not_restored: dict[str, dict[str, str]] = {}

    def undo(
        self, restored: dict[str, list[str]], not_restored: dict[str, dict[str, str]], audit: dict[str, str]
    ) -> None:
        if self.undone:
            raise SweepUndone("This no-show sweep was undone already.", sweep_id=str(self.id))
        self._undone(restored=restored, not_restored=not_restored, **audit)

    @event(Undone)
    def _undone(
        self,
        restored: dict[str, list[str]],  # noqa: ARG002 - recorded by the event, not kept in the state
        not_restored: dict[str, dict[str, str]],
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.undone = True
        self.not_restored = {k: dict(v) for k, v in not_restored.items()}

    def summary(self) -> dict[str, Any]:
        return {"sweep_id": str(self.id), "students": len(self.removed), "undone": self.undone}
