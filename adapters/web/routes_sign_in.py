"""Sign-in and sign-out for registrars (`/admin/sign-in`) and students (`/sign-in`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from regledger.adapters.auth import Role
from regledger.adapters.http.deps import ApiError, authenticate, client_address
from regledger.adapters.web.deps import ADMIN_SIGN_IN, STUDENT_SIGN_IN, session_of
from regledger.adapters.web.pages import WebRoute, api_of, redirect, render
from regledger.adapters.web.session import (
    SESSION_COOKIE,
    end_session,
    keep_sign_in_nonce,
    safe_next,
    sign_in_nonce,
    sign_in_nonce_valid,
    start_session,
)

router = APIRouter(include_in_schema=False, route_class=WebRoute)

PUBLIC_PATHS = frozenset({ADMIN_SIGN_IN, STUDENT_SIGN_IN, "/sign-out"})
HOMES: dict[Role, str] = {"admin": "/admin", "student": "/"}
TokenField = Annotated[str, Form(max_length=200)]
NonceField = Annotated[str, Form(max_length=64)]
NextQuery = Annotated[str | None, Query(max_length=2000)]


def _form(request: Request, role: Role, target: str | None, error: str = "", status: int = 200) -> Response:
    nonce = sign_in_nonce(request)
    action = ADMIN_SIGN_IN if role == "admin" else STUDENT_SIGN_IN
    context = {"role": role, "action": action, "next": target or "", "error": error, "nonce": nonce}
    response = render(request, "sign_in.html", context, status)
    keep_sign_in_nonce(request, response, nonce)
    return response


def _sign_in(request: Request, role: Role, token: str, nonce: str, target: str | None) -> Response:
    if not sign_in_nonce_valid(request, nonce):
        return _form(request, role, target, "The form expired; please sign in again.", 403)
    api = api_of(request)
    try:
        principal = authenticate(api, token.strip(), client_address(request.scope))
    except ApiError as refusal:
        return _form(request, role, target, refusal.message, refusal.status)
    if principal.role != role:
        other = "a registrar (admin)" if principal.role == "admin" else "a student"
        return _form(request, role, target, f"That token belongs to {other}; use the other sign-in page.", 403)
    response = redirect(safe_next(target, HOMES[role]))
    start_session(request, response, token.strip())
    return response


@router.get(ADMIN_SIGN_IN)
def admin_sign_in_form(request: Request, next: NextQuery = None) -> Response:
    return _form(request, "admin", next)


@router.post(ADMIN_SIGN_IN)
def admin_sign_in(request: Request, token: TokenField, nonce: NonceField = "", next: NextQuery = None) -> Response:
    return _sign_in(request, "admin", token, nonce, next)


@router.get(STUDENT_SIGN_IN)
def student_sign_in_form(request: Request, next: NextQuery = None) -> Response:
    return _form(request, "student", next)


@router.post(STUDENT_SIGN_IN)
def student_sign_in(request: Request, token: TokenField, nonce: NonceField = "", next: NextQuery = None) -> Response:
    return _sign_in(request, "student", token, nonce, next)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Ends the browser's session (the token itself stays valid: revoke it to end it everywhere).
    No CSRF check is needed: signing someone out is all a forged request could do."""
    session = await session_of(request, api_of(request)) if request.cookies.get(SESSION_COOKIE) else None
    home = ADMIN_SIGN_IN if session is not None and session.principal.is_admin else STUDENT_SIGN_IN
    response = redirect(home)
    end_session(response)
    return response
