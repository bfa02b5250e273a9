"""schemathesis over the OpenAPI schema: no 5xx, and every response matches its documented schema.

A focused subset: the admin and student command endpoints and the registration types, called
with an admin token on SQLite and on PostgreSQL (whose text type refuses NUL, which SQLite
stores). Path slugs and ids point at a real program, so generated bodies reach the domain's
rules instead of stopping at "not found". Afterwards the projector must apply everything that
was accepted: an accepted value the views cannot store would stop it for good.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.python import asgi

from regledger.adapters.auth import MemoryTokenStore
from regledger.adapters.bootstrap import build
from regledger.adapters.http.app import create_app
from regledger.domain.ids import SubjectId, TimeslotId, program_id
from regledger.domain.values import CommandContext


@dataclass
class Target:
    app: Any
    session: Any
    headers: dict[str, str]
    ids: dict[str, str]
    services: Any


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    services = build(request.getfixturevalue(f"{request.param}_settings"), follow=False)
    tokens = MemoryTokenStore()
    headers = {"Authorization": f"Bearer {tokens.create('admin', 'fuzzer')}"}
    app = create_app(services, tokens=tokens)
    try:
        with asgi.get_client(app) as session:
            yield Target(app, session, headers, _seed(services), services)
    finally:
        services.close()


@pytest.fixture
def api_schema(target: Target) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", target.app)


def _ctx() -> CommandContext:
    return CommandContext(actor="admin:seed")


def _seed(services) -> dict[str, str]:
    app = services.app
    app.create_program("splash", "Splash", _ctx(), school_year=2027)
    pid = program_id("splash")
    start = datetime(2026, 11, 21, 9, tzinfo=UTC)
    slot = app.add_timeslot(pid, "Sat 9:00", start, start + timedelta(minutes=50), _ctx()).ids["timeslot_id"]
    subject = app.add_subject(pid, "M1", "Knots", _ctx(), class_size_max=3).ids["subject_id"]
    section = app.create_section(SubjectId(UUID(subject)), [TimeslotId(UUID(slot))], _ctx()).ids["section_id"]
    return {"slug": "splash", "subject_id": subject, "section_id": section, "timeslot_id": slot}


# Not checked: positive_data_acceptance (replaced below: rules JSON Schema cannot state may refuse
# schema-valid data) and negative_data_rejection (its "negative" cases include unknown query
# parameters, which are ignored as everywhere on the web, and a dropped Authorization header that
# this test puts back). No 5xx, documented statuses, headers and response schemas are all checked.
EXCLUDED = [positive_data_acceptance, negative_data_rejection]
FOCUS = r"^/(programs|subjects|sections|registration-types)"
# Every query and catalogue read (GET under /programs and /sections): their views are not
# projected here, so a generated `min_position` answers 503 projection_behind by design.
QUERIES = r"^/(programs|sections)"


def test_the_api_never_answers_5xx_and_matches_its_schema(api_schema, target):
    """Each operation, positive and negative data; every default check (no 5xx, status, schema)."""
    schema = api_schema.include(path_regex=FOCUS).exclude(method="GET", path_regex=QUERIES)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(operation, mode, target)
    services = target.services
    services.projector.catch_up()
    assert services.views.position() == services.app.recorder.max_notification_id()


def _exercise(operation, mode, target):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def run(case):
        for name, value in target.ids.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        response = case.call_and_validate(session=target.session, headers=target.headers, excluded_checks=EXCLUDED)
        if mode is GenerationMode.POSITIVE and response.status_code == 422:
            # Rules JSON Schema cannot state (grade_min <= grade_max, end after start, an override
            # needs a reason, plausible years) may refuse schema-valid data: as the domain's 422s or
            # as value_error from a validator. A type or format error would mean the schema lies.
            errors = response.json()["detail"].get("errors", [])
            assert all(e["type"] == "value_error" for e in errors), response.text

    run()
