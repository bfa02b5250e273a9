"""Notifications that follow the events: the follower (log -> outbox, exactly once), the
templates, the outbox store (SQLite, PostgreSQL), the sender (SMTP, webhook), CLI and HTTP."""
