"""Page dependencies: the signed-in session of a registrar or a student, and CSRF on forms."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Form, Request

from regledger.adapters.auth import Principal
from regledger.adapters.http.deps import (
    PRINCIPAL_STATE,
    Api,
    ApiDep,
    ApiError,
    Forbidden,
    authenticate,
    client_address,
)
from regledger.adapters.web.flash import FLASH_COOKIE, Flash, read_your_write
from regledger.adapters.web.session import CSRF_FIELD, SESSION_COOKIE, WebSession, csrf_valid, sign_in_url
from regledger.projections.views import RegistrationViews

ADMIN_SIGN_IN = "/admin/sign-in"
STUDENT_SIGN_IN = "/sign-in"


class SignInRequired(Exception):
    """No (valid) session: the page answers a redirect to its sign-in form."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class CsrfFailed(ApiError):
    status = 403
    code = "csrf_failed"


async def session_of(request: Request, api: Api) -> WebSession | None:
    """The request's session, if its cookie holds a valid token (checked as a bearer token is)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    known = request.scope.get("state", {}).get(PRINCIPAL_STATE)  # the guard checked it already
    principal: Principal | None = known if isinstance(known, Principal) else api.tokens.cached_principal(token)
    if principal is None:
        try:
            principal = await anyio.to_thread.run_sync(authenticate, api, token, client_address(request.scope))
        except ApiError:
            return None
    return WebSession(principal, token)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "") if request.method == "GET" else request.url.path


async def admin_session(request: Request, api: ApiDep) -> WebSession:
    """The registrar's session; the page reads after the views include its last form's write."""
    session = await session_of(request, api)
    if session is None:
        raise SignInRequired(sign_in_url(ADMIN_SIGN_IN, _here(request)))
    if not session.principal.is_admin:
        raise Forbidden("These pages need an admin token; sign in as a registrar.", role=session.principal.role)
    await read_your_write(request, api.positions)
    return session


async def student_session(request: Request, api: ApiDep) -> WebSession:
    session = await session_of(request, api)
    if session is None:
        raise SignInRequired(sign_in_url(STUDENT_SIGN_IN, _here(request)))
    if session.principal.is_admin:
        raise Forbidden("This page is for students; registrars use /admin.", role="admin")
    await read_your_write(request, api.positions)
    return session


AdminSession = Annotated[WebSession, Depends(admin_session)]
StudentSession = Annotated[WebSession, Depends(student_session)]


async def student_page_views(request: Request, api: ApiDep) -> RegistrationViews:
    """The views the student page reads: a read replica's when replicas are configured (the page
    every student reloads in a rush), once it holds the last form's write (the flash's position),
    else the primary's. Registrars' pages read the primary: few readers, who want it fresh."""
    replicas = api.services.replicas
    if replicas is None:
        return api.views
    flash = Flash.decode(request.cookies.get(FLASH_COOKIE))
    replica = await replicas.views_for(flash.position if flash is not None and flash.position else None)
    return api.views if replica is None else replica


StudentPageViews = Annotated[RegistrationViews, Depends(student_page_views)]


async def _checked(session: WebSession, csrf: str) -> WebSession:
    if not csrf_valid(session.token, csrf):
        raise CsrfFailed("The form has expired or did not come from this site; reload the page and try again.")
    return session


async def admin_form(
    session: AdminSession, csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=64)] = ""
) -> WebSession:
    return await _checked(session, csrf)


async def student_form(
    session: StudentSession, csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=64)] = ""
) -> WebSession:
    return await _checked(session, csrf)


AdminForm = Annotated[WebSession, Depends(admin_form)]
StudentForm = Annotated[WebSession, Depends(student_form)]
