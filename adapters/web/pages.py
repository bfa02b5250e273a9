"""Rendering pages: the Jinja2 environment, security headers, flash messages, HTML errors.

Every page goes through `render`, which sets a strict Content-Security-Policy (scripts, styles
and images from this origin only: no inline script, no CDN), and shows the flash message the
previous form left. A form's outcome travels in a short-lived cookie (`flash`), so a refusal
shows the same message the API answers, and the page after a write waits for the views to
include it (read-your-writes), as `min_position` does for the API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from regledger.adapters.http.deps import Api, ApiError
from regledger.adapters.postgres.db_faults import TRANSIENT
from regledger.adapters.web.deps import SignInRequired
from regledger.adapters.web.flash import FLASH_COOKIE, Flash
from regledger.domain.errors import NotFoundError, RegistrationError
from regledger.domain.runner import CommandResult

logger = logging.getLogger("regledger.web")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_environment = Environment(
    loader=PackageLoader("regledger.adapters.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_environment)


def api_of(request: Request) -> Api:
    api: Api = request.app.state.api
    return api


def render(request: Request, name: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    """The page, with the flash the last form left (the session dependency has already waited
    for the views to include its write: `flash.read_your_write`)."""
    flash = Flash.decode(request.cookies.get(FLASH_COOKIE))
    response = templates.TemplateResponse(request, name, {**context, "flash": flash}, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, flash: Flash | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        response.set_cookie(FLASH_COOKIE, flash.encode(), max_age=60, path="/", httponly=True, samesite="strict")
    return response


def refusal_flash(error: RegistrationError | ApiError) -> Flash:
    return Flash("error", error.message, error.code)


def form_command(
    back: str, run: Callable[[], CommandResult], done: Callable[[CommandResult], tuple[str, str]]
) -> RedirectResponse:
    """Post/Redirect/Get for one command a form sends. `run` builds the context and runs the
    command; a refusal goes `back` with the API's message and code, else `done` names the page
    and the message (a resent form, replayed by its command id, says so; warnings are added)."""
    try:
        result = run()
    except (RegistrationError, ApiError) as error:
        return redirect(back, refusal_flash(error))
    url, message = done(result)
    if result.replayed:
        message = f"Already done: this form was sent before, so nothing changed again. {message}"
    if result.warnings:
        message += " Warnings: " + "; ".join(str(w) for w in result.warnings)
    return redirect(url, Flash("ok", message, "", result.position))


def error_page(request: Request, status: int, code: str, message: str) -> HTMLResponse:
    context = {"status": status, "code": code, "message": message, "session": None}
    return render(request, "error.html", context, status)


class WebRoute(APIRoute):
    """A page route: errors become HTML pages (the API's handlers answer JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def html_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as needed:
                return redirect(needed.url)
            except NotFoundError as error:
                return error_page(request, 404, error.code, error.message)
            except RegistrationError as error:
                return error_page(request, 409 if error.code != "invalid_input" else 422, error.code, error.message)
            except ApiError as error:
                return error_page(request, error.status, error.code, error.message)
            except RequestValidationError as error:
                first = error.errors()[0] if error.errors() else {}
                field = ".".join(str(p) for p in first.get("loc", ()))
                return error_page(request, 422, "invalid_input", f"Invalid input: {field}: {first.get('msg', '')}")
            except TRANSIENT as error:
                logger.warning("page %s: database unavailable: %s", request.url.path, error)
                return error_page(
                    request, 503, "database_unavailable", "The database is unavailable; please try again shortly."
                )

        return html_errors


__all__ = [
    "FLASH_COOKIE",
    "Flash",
    "WebRoute",
    "api_of",
    "error_page",
    "form_command",
    "redirect",
    "refusal_flash",
    "render",
    "templates",
]
