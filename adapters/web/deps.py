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
from regledger.adapters.web.flash import read_your_write
from regledger.adapters.web.session import CSRF_FIELD, SESSION_COOKIE, WebSession, csrf_valid, sign_in_url

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
