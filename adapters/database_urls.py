"""PostgreSQL URLs in settings: split into the settings' fields, and masked for logs."""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

REDACTED = "**********"
URL_SCHEMES = ("postgresql", "postgres")


def parse_database_url(url: str, where: str) -> dict[str, Any]:
    """Split postgresql://user:pass@host:port/db into field values (only the parts present)."""
    try:
        parts: SplitResult = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{where} is not a valid URL: {exc}") from None
    if parts.scheme not in URL_SCHEMES:
        raise ValueError(f"{where} must start with postgresql:// (or postgres://), got scheme {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError(f"{where} has no host: expected postgresql://user:pass@host:port/db")
    dbname = unquote(parts.path.removeprefix("/"))
    if not dbname or "/" in dbname:
        raise ValueError(f"{where} must name exactly one database, as in .../regledger")
    if parts.query or parts.fragment:
        raise ValueError(
            f"{where}: query parameters and fragments are not supported "
            f"(eventsourcing cannot pass them on); use the REGLEDGER_POSTGRES_* settings"
        )
    values: dict[str, Any] = {"postgres_host": parts.hostname, "postgres_db": dbname}
    if port is not None:
        values["postgres_port"] = port
    if parts.username:
        values["postgres_user"] = unquote(parts.username)
    if parts.password is not None:
        values["postgres_password"] = unquote(parts.password)
    return values


def mask_url_password(url: str) -> str:
    """The URL with its password, if any, masked (for logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return parts._replace(netloc=f"{user}:{REDACTED}@{netloc[2]}").geturl()


__all__ = ["REDACTED", "URL_SCHEMES", "mask_url_password", "parse_database_url"]
