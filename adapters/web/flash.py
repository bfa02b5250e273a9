"""A form's outcome, carried to the next page in a short-lived cookie and shown once.

Its `position` is the log position of the write it reports: the next page waits for the views
to include it before reading them (read-your-writes, as `min_position` does for the API).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from starlette.requests import Request

from regledger.adapters.positions import PositionWatch

FLASH_COOKIE = "rl_flash"
FLASH_WAIT = 2.0  # seconds a page waits for the views to include the write it reports

logger = logging.getLogger("regledger.web")


@dataclass(frozen=True)
class Flash:
    """A form's outcome, shown once on the next page."""

    kind: str  # "ok" or "error"
    message: str
    code: str = ""
    position: int = 0

    def encode(self) -> str:
        return json.dumps([self.kind, self.message, self.code, self.position], separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> Flash | None:
        try:
            kind, message, code, position = json.loads(text or "")
            return cls(str(kind)[:10], str(message)[:500], str(code)[:60], int(position))
        except (ValueError, TypeError):
            return None


async def read_your_write(request: Request, positions: PositionWatch) -> None:
    """Wait (in the event loop, holding no thread) until the views include the flash's write."""
    flash = Flash.decode(request.cookies.get(FLASH_COOKIE))
    if flash is None or not flash.position:
        return
    try:
        await positions.wait_for(flash.position, FLASH_WAIT)
    except TimeoutError:
        logger.warning("page read before the views reached position %d", flash.position)
