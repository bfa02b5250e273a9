"""The audit log's tables (`projections.audit`): every event of a program, and the program each
aggregate belongs to.

`audit_events` has one row per event, keyed by its notification id (`position`); its
`program_id` is looked up in `audit_owners` as the row is inserted (`writes.py`), so an event
whose aggregate belongs to no program is not inserted. The indexes serve the filters the audit
offers, each paged by position (keyset: newest first, `position < after`): the program alone,
or with a student, a section, an actor or an event kind; a time range is narrowed to
positions by `audit_blocks` (`audit_queries.py`).
"""

from __future__ import annotations

from regledger.adapters.views.tables import Index, Table, bigint, text, ts, uuid

AUDIT_OWNERS = Table("audit_owners", (uuid("aggregate_id"), uuid("program_id")), key=("aggregate_id",))

AUDIT_EVENTS = Table(
    "audit_events",
    (
        bigint("position"),
        uuid("program_id"),
        ts("recorded_at"),
        uuid("aggregate_id"),
        text("event_kind"),
        text("actor"),
        text("reason"),
        text("cause"),
        text("command_id"),
        uuid("student_id", null=True),
        uuid("section_id", null=True),
        uuid("subject_id", null=True),
        uuid("related_id", null=True),
        text("detail"),
    ),
    key=("position",),
    indexes=(
        Index("audit_program", ("program_id", "position")),
        Index("audit_student", ("program_id", "student_id", "position")),
        Index("audit_section", ("program_id", "section_id", "position")),
        Index("audit_actor", ("program_id", "actor", "position")),
        Index("audit_kind", ("program_id", "event_kind", "position")),
        # The big board's recent commands (`board_queries.recent_commands`): the newest rows
        # by time, with their command ids, from the index alone.
        Index("audit_time", ("program_id", "recorded_at", "command_id")),
    ),
    statistics=("program_id", "student_id", "section_id", "actor", "event_kind"),
)

# The first and last time recorded among the audit rows of each block of `audit.BLOCK` positions (of
# every program): a time range's events lie in the blocks whose times meet it, so its page
# scans those positions only. Commit order is not time order (a transaction commits after
# later-stamped ones), so the bounds come from the recorded times, not from positions.
AUDIT_BLOCKS = Table(
    "audit_blocks",
    (bigint("block"), ts("first_recorded"), ts("last_recorded")),
    key=("block",),
)

# Audit rows in `NetBatch.audit` are tuples of these columns, in this order (the table's but
# `program_id`).
AUDIT_ROW = tuple(column.name for column in AUDIT_EVENTS.columns if column.name != "program_id")
