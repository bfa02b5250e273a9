"""The library's JSON transcoder, parsing with orjson (chosen by ``TRANSCODER_TOPIC``).

Why: parsing is most of decoding an event, and the read side decodes every event it folds;
orjson parses these states several times faster than the stdlib's scanner. Encoding is the
library's, so the stored bytes are unchanged and either transcoder reads what the other wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Transcoding


class _FloatFound(Exception):
    """orjson's float may have been an integer literal beyond 64 bits: parse with the stdlib."""


class OrjsonDecodingTranscoder(JSONTranscoder):
    """The library's JSON transcoder, parsing with orjson.

    Why: parsing is most of decoding an event, and the read side decodes every event it folds
    (a rebuild: the whole log); orjson parses these states about four times faster than the
    stdlib's scanner. Encoding is the library's, so the stored bytes are unchanged.

    The result is the library's: every JSON object, innermost first, goes through the same
    `_decode_obj` (a ``{"_type_", "_data_"}`` pair becomes its registered transcoding's value).
    What orjson refuses but the stdlib reads (NaN and Infinity, lone surrogate escapes) is
    parsed by the stdlib, and so is any state holding a float: orjson reads an integer beyond
    64 bits as a float, the stdlib as an int. (Registration events hold no floats.)
    """

    def __init__(self) -> None:
        super().__init__()
        self._revive = _reviver(self.names, self._decode_obj)

    def decode(self, data: bytes) -> Any:
        try:
            return self._revive(orjson.loads(data))
        except (orjson.JSONDecodeError, _FloatFound):
            return super().decode(data)


def _reviver(names: dict[str, Transcoding], decode_obj: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
    """`decode_obj` applied bottom-up to every dict, as `json.JSONDecoder(object_hook=...)` does.

    A closure, not a method: this walk is the hot part of decoding. It descends only into
    containers, and a ``{"_type_": <registered name>, "_data_": ...}`` pair (most of what it
    meets) goes straight to its transcoding; any other dict of two keys goes through the
    library's `decode_obj`, which decodes it or raises as the library does."""

    def revive(value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            if len(value) == 2 and "_data_" in value and type(name := value.get("_type_")) is str:
                data = value["_data_"]
                data_kind = type(data)
                if data_kind is dict or data_kind is list:
                    data = value["_data_"] = revive(data)
                elif data_kind is float:
                    raise _FloatFound
                transcoding = names.get(name)
                return decode_obj(value) if transcoding is None else transcoding.decode(data)
            for key, item in value.items():
                item_kind = type(item)
                if item_kind is dict or item_kind is list:
                    value[key] = revive(item)  # same keys: safe while iterating
                elif item_kind is float:
                    raise _FloatFound
            return decode_obj(value) if len(value) == 2 and "_type_" in value else value
        if kind is list:
            for index, item in enumerate(value):
                item_kind = type(item)
                if item_kind is dict or item_kind is list:
                    value[index] = revive(item)
                elif item_kind is float:
                    raise _FloatFound
        elif kind is float:
            raise _FloatFound
        return value

    return revive


__all__ = ["OrjsonDecodingTranscoder"]
