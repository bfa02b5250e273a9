"""The registrar console's entry: every program (`/admin`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from regledger.adapters.http import routes_catalogue
from regledger.adapters.web.deps import AdminSession
from regledger.adapters.web.pages import WebRoute, api_of, render

router = APIRouter(include_in_schema=False, route_class=WebRoute)


@router.get("/admin")
def admin_home(request: Request, session: AdminSession) -> Response:
    listed = routes_catalogue.programs(session.principal, api_of(request).views)
    return render(request, "admin/home.html", {"session": session, "programs": listed.programs})
