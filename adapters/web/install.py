"""Mount the web console on the API's app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from regledger.adapters.web import (
    routes_admin_home,
    routes_audit_page,
    routes_board,
    routes_catalogue_pages,
    routes_class_change_pages,
    routes_sign_in,
    routes_student_page,
)
from regledger.adapters.web.routes_lottery_pages import ROUTERS as STUDENT_AND_LOTTERY_ROUTERS

STATIC = Path(__file__).parent / "static"
PUBLIC_PATHS = routes_sign_in.PUBLIC_PATHS  # forms that carry no session (the guard lets them through)


def install(app: FastAPI) -> None:
    # follow_symlink: an editable install links the files from the source tree.
    app.mount("/static", StaticFiles(directory=STATIC, follow_symlink=True), name="static")
    for module in (
        routes_sign_in,
        routes_admin_home,
        routes_audit_page,
        routes_student_page,
        routes_board,
        routes_catalogue_pages,
        routes_class_change_pages,
    ):
        app.include_router(module.router)
    for router in STUDENT_AND_LOTTERY_ROUTERS:
        app.include_router(router)
    routes_board.install(app)
