"""The web pages' session: a token exchanged at sign-in for an HttpOnly cookie, plus CSRF.

The cookie holds the token itself, so the token store stays the one authority: revoking a
token ends its browser sessions within the lookup cache's second, and every worker process
can check a session without shared state. It is HttpOnly (no script reads it), SameSite=Strict
(no other site's page sends it) and Secure when the request came over HTTPS.

Forms carry a CSRF field: an HMAC of a fixed label keyed by the session's token. Only a page
rendered for that session can know it (the cookie is unreadable to scripts), so a forged form
from elsewhere fails even where SameSite does not hold (old browsers, same-site subdomains).
The sign-in form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from regledger.adapters.auth import Principal

SESSION_COOKIE = "rl_session"
SIGN_IN_COOKIE = "rl_sign_in"  # the double-submit value of the sign-in form
SESSION_SECONDS = 12 * 3600  # a registrar's working day; the token itself may live longer
CSRF_FIELD = "csrf"
# Paths whose requests may authenticate by the session cookie (never the JSON API: it has no CSRF).
COOKIE_PREFIXES = ("/admin/", "/me/")
COOKIE_PATHS = frozenset({"/admin", "/", "/sign-out"})


def cookie_auth_path(path: str) -> bool:
    return path in COOKIE_PATHS or path.startswith(COOKIE_PREFIXES)


def sign_in_page(path: str) -> str:
    return "/admin/sign-in" if path == "/admin" or path.startswith("/admin/") else "/sign-in"


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"regledger-csrf", hashlib.sha256).hexdigest()[:32]


def csrf_valid(token: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(token), given or "")


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: who it is, and the CSRF value its forms carry."""

    principal: Principal
    token: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def sign_in_nonce(request: Request) -> str:
    """The sign-in form's double-submit value: the one its cookie holds, else a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def keep_sign_in_nonce(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE, nonce, max_age=3600, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def sign_in_nonce_valid(request: Request, given: str) -> bool:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, given or "")


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after sign-in; anything else (another host, `//x`, `\\x`) is ignored."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or any(c in target for c in "\r\n"):
        return default
    return target


def sign_in_url(base: str, path: str) -> str:
    return f"{base}?next={quote(path, safe='/')}"
