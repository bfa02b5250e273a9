"""Sections addressed the way people say them: `/programs/{slug}/sections/{code}/...` beside
`/sections/{section_id}/...`, for every read and admin command on a section.

Each alias is the id route's own handler, registered again with its `section_id` parameter
taken from the slug and the code (`M101s1`), so the two forms cannot drift apart. The code
maps to the section's deterministic id; an unknown one answers 404 as an unknown id does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_type_hints
from uuid import UUID

from fastapi import APIRouter, Depends, Path

from regledger.adapters.http.deps import ApiDep, SlugPath, exists
from regledger.adapters.http.existence import SECTION
from regledger.adapters.http.schemas import KEY_PATTERN
from regledger.domain.errors import NotFoundError
from regledger.domain.ids import program_id
from regledger.projections.catalogue import section_id_of_code

SectionCodePath = Annotated[
    str, Path(pattern=KEY_PATTERN, description="A section code: class code, `s`, number", examples=["M101s1"])
]


async def section_of_code(slug: SlugPath, code: SectionCodePath, api: ApiDep) -> UUID:
    found = section_id_of_code(program_id(slug), code)
    if found is None or not await exists(api, found, SECTION):
        raise NotFoundError("No such section", slug=slug, code=code)
    return found


SectionByCode = Annotated[UUID, Depends(section_of_code)]


def add_code_route(router: APIRouter, method: str, suffix: str, handler: Callable[..., Any], **options: Any) -> None:
    """Register `handler` (whose `section_id` names the section) at
    `/programs/{slug}/sections/{code}{suffix}`."""
    hints = get_type_hints(handler, include_extras=True)
    signature = inspect.signature(handler)
    parameters = [
        parameter.replace(annotation=SectionByCode if name == "section_id" else hints[name])
        for name, parameter in signature.parameters.items()
    ]

    def by_code(*args: Any, **kwargs: Any) -> Any:
        return handler(*args, **kwargs)

    by_code.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=hints.get("return", signature.return_annotation)
    )
    by_code.__name__ = f"{handler.__name__}_by_code"
    by_code.__doc__ = handler.__doc__
    router.add_api_route(f"/programs/{{slug}}/sections/{{code}}{suffix}", by_code, methods=[method], **options)
