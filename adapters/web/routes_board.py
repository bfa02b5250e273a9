"""The registrar's big board (`/admin/p/{slug}`): live counts, popular classes, the season's series.

The cards are a fragment (`board/live`) the page polls every 5 seconds (`data-poll`, app.js),
so they move during a rush without a reload; the series is drawn by the server as SVG.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import Response

from regledger.adapters.http import routes_catalogue
from regledger.adapters.http.deps import ApiDep
from regledger.adapters.web import charts
from regledger.adapters.web.board_data import SeasonCache, board
from regledger.adapters.web.deps import AdminSession, session_of
from regledger.adapters.web.pages import SECURITY_HEADERS, WebRoute, api_of, render, templates
from regledger.adapters.web.session import WebSession

router = APIRouter(include_in_schema=False, route_class=WebRoute)
SEASONS_STATE = "board_seasons"

POLL_SECONDS = 5


def install(app: FastAPI) -> None:
    """The app's season cache, closed with the app."""
    api = app.state.api
    seasons = SeasonCache(api.views)
    setattr(app.state, SEASONS_STATE, seasons)
    api.owned.append(seasons)


def seasons_of(request: Request) -> SeasonCache:
    seasons: SeasonCache = getattr(request.app.state, SEASONS_STATE)
    return seasons


@router.get("/admin/p/{slug}")
def board_page(request: Request, slug: str, session: AdminSession) -> Response:
    views = api_of(request).views
    program = routes_catalogue.program_view(views, slug)
    kept = seasons_of(request).season(program.program_id)
    context = {
        "session": session,
        "program": program,
        "tab": "board",
        "board": board(views, program.program_id, kept.stars),
        "series": kept.series,
        "every": POLL_SECONDS,
    }
    return render(request, "admin/board.html", context)


async def polling_admin(request: Request, api: ApiDep) -> WebSession | None:
    """The registrar's session, or None: a poll after the session ended gets a bare 401, not
    the sign-in page (which app.js would put in place of the cards)."""
    session = await session_of(request, api)
    return session if session is not None and session.principal.is_admin else None


@router.get("/admin/p/{slug}/board/live")
def board_live(request: Request, slug: str, session: Annotated[WebSession | None, Depends(polling_admin)]) -> Response:
    if session is None:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    views = api_of(request).views
    program = routes_catalogue.program_view(views, slug)
    stars = seasons_of(request).season(program.program_id).stars
    context = {"session": session, "program": program, "board": board(views, program.program_id, stars)}
    # Not `render`: a poll must leave the flash cookie a form just set to the page it reports on.
    response = templates.TemplateResponse(request, "admin/board_live.html", context)
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/admin/p/{slug}/board/series.svg")
def board_series(request: Request, slug: str, _session: AdminSession) -> Response:
    views = api_of(request).views
    program = routes_catalogue.program_view(views, slug)
    series = seasons_of(request).season(program.program_id).series
    shown = tuple((p.hour, p.enrolments, p.drops) for p in series.points)
    return charts.cached_svg(
        ("board", program.program_id, series.unit, shown),
        lambda: charts.lines(
            f"Enrolments and drops per {series.unit}",
            [p.hour for p in series.points],
            {"Enrolments": [p.enrolments for p in series.points], "Drops": [p.drops for p in series.points]},
            xlabel=f"{series.unit.capitalize()} (UTC)",
            ylabel="Registrations",
        ),
    )
