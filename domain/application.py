"""The Registration application: every command, plus reads of single aggregates by id."""

from __future__ import annotations

from collections.abc import Iterable

from regledger.domain.admin_commands import AdminCommands
from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import ProgramId, registration_types_id, student_id
from regledger.domain.lottery_commit import LotteryCommit
from regledger.domain.preference_commands import PreferenceCommands
from regledger.domain.registration_types import RegistrationType, RegistrationTypes, default_labels
from regledger.domain.student import Student
from regledger.domain.values import CommandContext, check_text, check_verb

SYSTEM = CommandContext(actor="system", command_id="system")


class Registration(AdminCommands, PreferenceCommands, LotteryCommit):
    """Commands load aggregates, check rules in the aggregates, and save them in one transaction."""

    def get_student(self, program_id: ProgramId, student_key: str) -> Student:
        return self.load(Student, student_id(program_id, student_key), "student")

    def get_map(
        self, include: Iterable[str] = (), category: str | None = None, ctx: CommandContext = SYSTEM
    ) -> dict[str, RegistrationType]:
        """Verbs of a category by name; `include` names are created if missing (as the reference)."""
        names = [check_verb(n) for n in include]
        if names and not isinstance(category, str):
            raise InvalidInputError("Need to supply category when including registration types")
        category = check_text(category or "student", "category", max_length=64)
        catalogue = self.find(RegistrationTypes, registration_types_id(category))
        missing = [n for n in names if catalogue is None or n not in catalogue.types]
        if missing:
            catalogue = self.verb_catalogue(category, ctx)
            for name in missing:
                catalogue.ensure(name, ctx.audit())
            self.save(catalogue)
        return dict(catalogue.types) if catalogue else {}

    def get_cached(self, name: str, category: str = "student") -> RegistrationType:
        """One verb, created on first use."""
        return self.get_map([name], category)[name]


__all__ = ["Registration", "default_labels"]
