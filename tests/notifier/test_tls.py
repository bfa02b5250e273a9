"""SMTP with STARTTLS or implicit TLS and a login, against a real aiosmtpd server with a
certificate made for the test (`REGLEDGER_SMTP_CA_FILE` trusts it)."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from regledger.adapters.notifier.follower import Notifier
from regledger.adapters.notifier.sender import Sender
from regledger.adapters.settings import Settings
from tests.notifier.helpers import Handler, Program, Received, admin, email_of, free_port, store_environ

# aiosmtpd itself sets the attribute it deprecates when a login succeeds.
# And it warns of AUTH without STARTTLS even on an implicit-TLS (ssl) server.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(server certificate chain, its key, the CA that signed it), made in process by trustme."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    chain, key, authority = folder / "chain.pem", folder / "key.pem", folder / "ca.pem"
    issued.private_key_pem.write_to_path(str(key))
    issued.cert_chain_pems[0].write_to_path(str(chain))
    for more in issued.cert_chain_pems[1:]:
        more.write_to_path(str(chain), append=True)
    ca.cert_pem.write_to_path(str(authority))
    return chain, key, authority


def authenticator(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"registrar", b"s3cret")
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path, Path]
) -> Iterator[tuple[str, int, Received]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate[0], certificate[1])
    received, port = Received(), free_port()
    tls: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True}
        if request.param == "starttls"
        # Implicit TLS: the whole connection is encrypted, which aiosmtpd does not count as TLS.
        else {"ssl_context": context, "auth_require_tls": False}
    )
    controller = Controller(
        Handler(received, set()),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        # smtplib falls back to LOGIN after a refused PLAIN, and aiosmtpd 1.4's LOGIN then
        # waits for a line smtplib never sends: a test-server quirk, not the sender's.
        auth_exclude_mechanism=["LOGIN"],
        server_hostname="127.0.0.1",
        **tls,
    )
    # aiosmtpd logs a refused handshake from its own thread (the unverifiable-certificate test).
    quiet = logging.getLogger("mail.log")
    quiet.disabled = True
    controller.start()
    yield request.param, port, received
    controller.stop()
    quiet.disabled = False


def tls_settings(base: Settings, security: str, port: int, ca: Path | None, password: str) -> Settings:
    return Settings.from_mapping(
        {
            **({"REGLEDGER_SMTP_CA_FILE": str(ca)} if ca else {}),
            **store_environ(base),
            "REGLEDGER_SMTP_HOST": "127.0.0.1",
            "REGLEDGER_SMTP_PORT": str(port),
            "REGLEDGER_SMTP_SECURITY": security,
            "REGLEDGER_SMTP_USER": "registrar",
            "REGLEDGER_SMTP_PASSWORD": password,
            "REGLEDGER_SMTP_TIMEOUT": "5",
        }
    )


def test_tls_and_login_deliver_and_a_wrong_password_is_retried(app, outbox, notify_settings, tls_server, certificate):
    security, port, received = tls_server
    p = Program(app)
    p.profile("ada")
    p.add("ada")
    app.drop_section(p.pid, "ada", p.section, admin())
    Notifier(app, outbox, from_start=True).catch_up()

    wrong = Sender.for_settings(tls_settings(notify_settings, security, port, certificate[2], "guess"), outbox)
    report = wrong.send_due()
    wrong.close()
    assert report.unreachable
    [row] = outbox.list()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "login refused" in (row.last_error or "")

    right = Sender.for_settings(tls_settings(notify_settings, security, port, certificate[2], "s3cret"), outbox)
    right.clock = lambda: row.next_attempt_at  # the retry has come due
    report = right.send_due()
    right.close()
    assert report.sent == 1
    assert [m["To"] for m in received.messages] == [email_of("ada")]


def test_a_certificate_it_cannot_verify_is_refused(app, outbox, notify_settings, tls_server):
    security, port, received = tls_server
    p = Program(app)
    p.profile("ada")
    p.add("ada")
    app.drop_section(p.pid, "ada", p.section, admin())
    Notifier(app, outbox, from_start=True).catch_up()
    settings = tls_settings(notify_settings, security, port, None, "s3cret")  # the system's CAs only
    sender = Sender.for_settings(settings, outbox)
    assert sender.send_due().unreachable
    sender.close()
    [row] = outbox.list()
    assert "CERTIFICATE_VERIFY_FAILED" in (row.last_error or "")
    assert received.messages == []
