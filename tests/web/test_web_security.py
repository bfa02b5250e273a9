"""The console's security rules, checked on the real app without a browser: the cookie's
attributes, CSRF on sign-in, safe redirects, the CSP on every page, and the JSON API refusing
the session cookie (it has no CSRF protection, so only the console's paths may accept it)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from regledger.adapters.auth import TokenStore
from regledger.adapters.bootstrap import Services, build
from regledger.adapters.http.app import create_app
from regledger.adapters.settings import Settings
from regledger.adapters.web.session import SESSION_COOKIE, csrf_token

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

STYLE = Path(__file__).resolve().parents[2] / "adapters" / "web" / "static" / "style.css"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build(Settings(store="sqlite", sqlite_path=tmp_path / "security.sqlite3"), follow=True)
    yield built
    built.close()


@pytest.fixture
def tokens(services: Services) -> TokenStore:
    return services.tokens


def client(services: Services, base_url: str = "http://testserver") -> TestClient:
    return TestClient(create_app(services), base_url=base_url, raise_server_exceptions=False)


def sign_in(browser: TestClient, token: str, path: str = "/admin/sign-in", next_path: str = "") -> object:
    browser.get(path)
    nonce = browser.cookies.get("rl_sign_in")
    url = f"{path}?next={next_path}" if next_path else path
    return browser.post(url, data={"token": token, "nonce": nonce}, follow_redirects=False)


def test_the_session_cookie_is_httponly_strict_and_secure_over_https(services: Services, tokens: TokenStore) -> None:
    with client(services, "https://testserver") as browser:
        answer = sign_in(browser, tokens.create("admin", "alice"))
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert f"{SESSION_COOKIE}=" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" in cookie


def test_over_plain_http_the_cookie_is_not_marked_secure(services: Services, tokens: TokenStore) -> None:
    with client(services) as browser:
        answer = sign_in(browser, tokens.create("admin", "alice"))
    assert "secure" not in answer.headers["set-cookie"].lower()


def test_a_sign_in_without_the_forms_nonce_is_refused(services: Services, tokens: TokenStore) -> None:
    """Login CSRF: another site's form cannot sign a victim's browser into the attacker's account."""
    token = tokens.create("admin", "alice")
    with client(services) as browser:
        answer = browser.post("/admin/sign-in", data={"token": token, "nonce": "forged"}, follow_redirects=False)
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert "The form expired" in answer.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "admin"])
def test_sign_in_never_redirects_off_site(services: Services, tokens: TokenStore, target: str) -> None:
    with client(services) as browser:
        answer = sign_in(browser, tokens.create("admin", "alice"), next_path=target)
    assert answer.headers["location"] == "/admin"


def test_sign_in_returns_to_the_page_asked_for(services: Services, tokens: TokenStore) -> None:
    with client(services) as browser:
        answer = sign_in(browser, tokens.create("admin", "alice"), next_path="/admin?x=1")
    assert answer.headers["location"] == "/admin?x=1"


def test_every_page_carries_a_strict_content_security_policy(services: Services, tokens: TokenStore) -> None:
    with client(services) as browser:
        sign_in(browser, tokens.create("admin", "alice"))
        for path in ("/admin/sign-in", "/sign-in", "/admin"):
            answer = browser.get(path)
            assert answer.status_code == 200, path
            policy = answer.headers["content-security-policy"]
            assert "script-src 'self'" in policy
            assert "unsafe-inline" not in policy
            assert "frame-ancestors 'none'" in policy
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "<script>" not in answer.text  # no inline script anywhere: only <script src>


def test_the_json_api_does_not_accept_the_session_cookie(services: Services, tokens: TokenStore) -> None:
    """Cookie authentication only on the console's paths, whose forms carry CSRF."""
    with client(services) as browser:
        sign_in(browser, tokens.create("admin", "alice"))
        assert browser.get("/admin").status_code == 200  # the cookie works where it should
        assert browser.get("/programs").status_code == 401
        answer = browser.post("/programs", json={"slug": "evil", "title": "Evil", "school_year": 2027})
        assert answer.status_code == 401
    assert not any(p.slug == "evil" for p in services.views.programs())


def test_a_revoked_token_ends_its_browser_sessions(services: Services, tokens: TokenStore) -> None:
    token = tokens.create("admin", "alice")
    with client(services) as browser:
        sign_in(browser, token)
        assert browser.get("/admin").status_code == 200
        tokens.revoke(token.removeprefix("rl_").split(".")[0])
        answer = browser.get("/admin", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/sign-in")


def test_a_post_to_the_console_without_a_session_goes_to_sign_in(services: Services) -> None:
    with client(services) as browser:
        answer = browser.post("/admin/p/x/anything", data={"csrf": "x"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/sign-in"


def test_csrf_values_differ_per_token_and_are_not_the_token() -> None:
    first, second = csrf_token("rl_a.secret-one"), csrf_token("rl_b.secret-two")
    assert first != second
    assert "secret" not in first


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, two: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# Text colour on background, as the stylesheet pairs them.
PAIRS = [
    ("ink", "paper"),
    ("ink", "band"),
    ("muted", "paper"),
    ("muted", "band"),
    ("accent", "paper"),
    ("accent", "band"),
    ("accent-ink", "accent"),
    ("ok", "ok-bg"),
    ("err", "err-bg"),
    ("accent-ink", "err"),
    ("warn", "paper"),
]


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_the_palette_meets_wcag_aa_contrast_for_text(text: str, background: str) -> None:
    palette = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", STYLE.read_text()))
    assert contrast(palette[text], palette[background]) >= 4.5, (text, background)


def test_the_contrast_formula_matches_wcags_reference_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
