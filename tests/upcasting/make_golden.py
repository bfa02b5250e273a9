"""Writes the golden stored states in tests/upcasting/golden/ (see test_golden_states.py).

    .venv/bin/python tests/upcasting/make_golden.py [--force]

Run it only when a fast-path event class's stored format changes ON PURPOSE, and in the same
change update its fast paths (`projections/lean_fold.py`, the `_raw_*` handlers of
`domain/lottery_inputs.py`) and, if old states must still be read, add a golden file of the old
format instead of overwriting it. Without --force it writes only the files that are missing.

Each event has fixed values (ids, time, text with non-ASCII characters, a ranking with a gap)
and is encoded by the application's mapper, so a file holds the state bytes exactly as the
library writes them today, plus a final newline. `<Class>.unstamped.json` is the same state
without the "request" key: the format of every event stored before requests were stamped
(2026-12-03), which the fast paths must keep reading; those files were checked byte for byte
against what the code of 2665f88~1 (the last commit without the field) writes for the same
events.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from regledger.domain.application import Registration
from regledger.domain.ids import SectionId, StudentId, SubjectId, TimeslotId
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import SectionRef

GOLDEN = Path(__file__).resolve().parent / "golden"

# The originator of every golden event; the tests use the same (it is not in the state).
ORIGINATOR = UUID("00000000-0000-4000-8000-00000000a001")
VERSION = 7

AT = datetime(2026, 11, 14, 15, 30, 45, 123456, tzinfo=UTC)
STUDENT = StudentId(UUID("00000000-0000-4000-8000-00000000b001"))
SUBJECT = SubjectId(UUID("00000000-0000-4000-8000-00000000c001"))
OTHER_SUBJECT = SubjectId(UUID("00000000-0000-4000-8000-00000000c002"))
SECTION = SectionId(UUID("00000000-0000-4000-8000-00000000d001"))
OTHER_SECTION = SectionId(UUID("00000000-0000-4000-8000-00000000d002"))
TIMESLOT = TimeslotId(UUID("00000000-0000-4000-8000-00000000e001"))
OTHER_TIMESLOT = TimeslotId(UUID("00000000-0000-4000-8000-00000000e002"))
LOTTERY_RUN = UUID("00000000-0000-4000-8000-00000000f001")

REF = SectionRef(SECTION, SUBJECT, "Science & Física", (TIMESLOT, OTHER_TIMESLOT))
OTHER_REF = SectionRef(OTHER_SECTION, OTHER_SUBJECT, "Humanities", (TIMESLOT,))
AUDIT: dict[str, Any] = {
    "originator_id": ORIGINATOR,
    "originator_version": VERSION,
    "timestamp": AT,
    "actor": "admin:Zoë",
    "command_id": "cmd-0001",
    "reason": 'moved by the "lottery"\nsecond line',
    "request": "3f2a9c0d5b7e41e8a6c2d9f0b1e4a7c3",
}


def golden_events() -> dict[str, Any]:
    """File stem -> the event whose stored state it holds."""
    return {
        "Student.SectionRegistered": Student.SectionRegistered(
            section=REF, verb="Enrolled", cause="lottery", lottery_run_id=LOTTERY_RUN, **AUDIT
        ),
        "Student.SubjectStarred": Student.SubjectStarred(subject_id=SUBJECT, **AUDIT),
        "Student.SubjectUnstarred": Student.SubjectUnstarred(subject_id=SUBJECT, **AUDIT),
        "Student.PrioritiesRanked": Student.PrioritiesRanked(
            timeslot_id=TIMESLOT, ranked=(OTHER_REF, None, REF), previous=(REF,), **AUDIT
        ),
        "Section.StudentEnrolled": Section.StudentEnrolled(
            student_id=STUDENT, cause="first come", override=True, lottery_run_id=None, **AUDIT
        ),
        "Section.StudentWaitlisted": Section.StudentWaitlisted(student_id=STUDENT, **AUDIT),
    }


def unstamped(state: bytes) -> bytes:
    parsed = orjson.loads(state)
    del parsed["request"]
    return orjson.dumps(parsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="overwrite existing golden files")
    args = parser.parse_args()
    app = Registration(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        GOLDEN.mkdir(exist_ok=True)
        for stem, event in golden_events().items():
            state = app.mapper.to_stored_event(event).state
            for path, content in ((f"{stem}.json", state), (f"{stem}.unstamped.json", unstamped(state))):
                target = GOLDEN / path
                if target.exists() and not args.force:
                    print(f"kept {target.name}", file=sys.stderr)
                    continue
                target.write_bytes(content + b"\n")
                print(f"wrote {target.name}", file=sys.stderr)
    finally:
        app.close()


if __name__ == "__main__":
    main()
