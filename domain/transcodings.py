"""Cheaper decoding of the ids in stored events, in the library's own JSON format.

Why: decoding is the read side's hottest path (every projection batch, every cold fold, every
replay), and a registration log names the same few thousand ids (students, sections, classes,
timeslots) over and over. ``uuid.UUID(hex)`` parses and validates each occurrence anew; here
each distinct hex string is parsed once and the (immutable) UUID shared. The stored format is
unchanged: ``{"_type_": "uuid_hex", "_data_": "<32 hex digits>"}``, so either transcoder reads
what the other wrote.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import UUIDAsHex

# Bounded so a long-lived process reading an ever-growing log cannot grow without limit; a
# Splash-sized program names about 5,000 ids, so the bound is never reached in practice.
MAX_CACHED_IDS = 200_000

_uuids: dict[str, UUID] = {}


def uuid_from_hex(text: str) -> UUID:
    """UUID(text), shared per distinct text (UUIDs are immutable)."""
    found = _uuids.get(text)
    if found is None:
        found = UUID(text)  # validates, as the library's decoding does
        if len(_uuids) >= MAX_CACHED_IDS:
            _uuids.clear()
        _uuids[text] = found
    return found


class SharedUUIDAsHex(UUIDAsHex):
    """The library's ``uuid_hex`` transcoding, decoding through `uuid_from_hex`."""

    def decode(self, data: Any) -> UUID:
        if not isinstance(data, str):
            raise TypeError(f"uuid_hex data must be a string, not {type(data).__name__}")
        return uuid_from_hex(data)


__all__ = ["MAX_CACHED_IDS", "SharedUUIDAsHex", "uuid_from_hex"]
