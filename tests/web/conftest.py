"""The web console under a real server and a real browser (Debian's chromium, driven by Playwright).

`site` runs `create_app` under uvicorn in a thread on an embedded SQLite store holding a small
synthetic season (the demo's loader); `page` and `phone` are fresh browser contexts at 1400 px
and 375 px. Every page a test opens must log no error to the console (a CSP violation or a
script error fails the test). `shoot` saves a screenshot; with REGLEDGER_SCREENSHOTS=docs it
writes `docs/screenshots/` (`make screenshots`), otherwise a temporary directory.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

from regledger.adapters.bootstrap import Services, build
from regledger.adapters.demo import load_program
from regledger.adapters.http.app import create_app
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.synthetic import SyntheticProgram, generate_program
from regledger.domain.ids import ProgramId
from tests.serving import wait_until_up

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("REGLEDGER_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDE = {"width": 1400, "height": 900}
NARROW = {"width": 375, "height": 812}
SLUG = "synthetic-7"


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("REGLEDGER_REQUIRE_POSTGRES"):  # CI: browser tests are required, never skipped
        pytest.fail(f"no browser at {CHROMIUM}: apt install chromium (.ci/run does)")
    pytest.skip(f"no browser at {CHROMIUM} (apt install chromium)")


class LiveServer:
    """uvicorn serving an app from a thread, on a free loopback port."""

    def __init__(self, app: object) -> None:
        # The socket is bound here and handed to uvicorn: no window in which another socket
        # could take a port found free.
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="on")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive(), "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        # Started is not yet answering: in two CI runs a fresh server's first request timed out
        # under the whole suite's load. Tests begin once it has answered, as every other server
        # fixture's do (tests/serving.py).
        wait_until_up(self.base, timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


@dataclass
class Site:
    """A served season: the base URL, the services behind it and tokens for its people."""

    base: str
    services: Services
    program: SyntheticProgram
    program_id: ProgramId
    admin_token: str
    student_tokens: dict[str, str] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return SLUG

    def student_token(self, key: str) -> str:
        if key not in self.student_tokens:
            self.student_tokens[key] = self.services.tokens.create("student", f"{SLUG}/{key}")
        return self.student_tokens[key]

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def settle(self) -> None:
        """Wait until the views include every event written so far."""
        self.services.wait_for(self.services.app.position(), timeout=10)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "web.sqlite3")
    services = build(settings, follow=True)
    program = generate_program(7, students=40, sections=16, classes=8)
    pid = load_program(services.app, program, SLUG)
    services.wait_for(services.app.position(), timeout=30)
    admin_token = services.tokens.create("admin", "registrar")
    try:
        with LiveServer(create_app(services)) as server:
            yield Site(server.base, services, program, pid, admin_token)
    finally:
        services.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium_or_skip()
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


def _context_page(browser: object, viewport: dict[str, int]) -> Iterator[object]:
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []

    def console(message: object) -> None:
        # A refused page (401, 409...) is logged as a failed load: its status is asserted by tests.
        text = message.text  # type: ignore[attr-defined]
        if message.type == "error" and not text.startswith("Failed to load resource"):  # type: ignore[attr-defined]
            errors.append(text)

    def response(answer: object) -> None:
        status, kind = answer.status, answer.request.resource_type  # type: ignore[attr-defined]
        if status >= 500 or (status >= 400 and kind != "document"):  # assets and fetches must load
            errors.append(f"{status} {answer.url}")  # type: ignore[attr-defined]

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", response)
    # A navigation waits for the page and its assets; under the whole suite's load on 2 cores a
    # first load once took over 10 s (CI). A click that submits a form waits for the navigation
    # it starts under the action timeout (a sign-in's did, in CI), so both get 30 s.
    page.set_default_timeout(30_000)
    page.set_default_navigation_timeout(30_000)
    yield page
    context.close()
    assert not errors, f"the browser logged errors: {errors}"


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    yield from _context_page(browser, WIDE)


@pytest.fixture
def phone(browser: object) -> Iterator[object]:
    yield from _context_page(browser, NARROW)


def sign_in(page: object, site: Site, token: str, *, admin_side: bool = True) -> None:
    path = "/admin/sign-in" if admin_side else "/sign-in"
    page.goto(site.url(path))  # type: ignore[attr-defined]
    page.get_by_label("Token").fill(token)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


@pytest.fixture
def shoot(tmp_path: Path) -> object:
    """shoot(page, name): a full-page PNG (docs/screenshots/NAME.png under REGLEDGER_SCREENSHOTS=docs)."""
    target = SCREENSHOTS if os.environ.get("REGLEDGER_SCREENSHOTS") == "docs" else tmp_path / "screenshots"

    def take(page: object, name: str) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return take


def check_accessibility(page: object) -> None:
    """Basics: one h1, no skipped heading level, a label for every visible field, alt on images."""
    problems = page.evaluate(  # type: ignore[attr-defined]
        """() => {
      const out = [];
      const h1 = document.querySelectorAll('h1').length;
      if (h1 !== 1) out.push(`${h1} h1 elements`);
      let last = 0;
      for (const h of document.querySelectorAll('h1,h2,h3,h4,h5,h6')) {
        const level = Number(h.tagName[1]);
        if (last && level > last + 1) out.push(`heading ${h.tagName} after h${last}: ${h.textContent.trim()}`);
        last = level;
      }
      for (const el of document.querySelectorAll('input,select,textarea')) {
        if (el.type === 'hidden' || el.type === 'submit') continue;
        const labelled = (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
          || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
        if (!labelled) out.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
      }
      for (const img of document.querySelectorAll('img')) {
        if (!img.hasAttribute('alt')) out.push(`img without alt: ${img.src}`);
      }
      for (const b of document.querySelectorAll('button')) {
        if (!b.textContent.trim() && !b.getAttribute('aria-label')) out.push('a button without a name');
      }
      return out;
    }"""
    )
    assert not problems, problems


__all__ = ["Site", "check_accessibility", "sign_in"]
