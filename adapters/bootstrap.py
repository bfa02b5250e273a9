"""Composition root: the only place that turns Settings into running objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from regledger.adapters.settings import Settings
from regledger.domain.app_base import utc_now
from regledger.domain.application import Registration


@dataclass
class Services:
    settings: Settings
    app: Registration

    def close(self) -> None:
        self.app.close()


def build(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Services:
    settings.prepare()
    app = Registration(env=settings.eventsourcing_env(names=[Registration.name]), clock=clock)
    return Services(settings=settings, app=app)
