"""The SMTP connection: STARTTLS or implicit TLS, plain only to this machine and only if asked.

Credentials come from the environment only (``CWI_SMTP_USER``, ``CWI_SMTP_PASSWORD``): never
from a file in the project, a command-line argument (visible to other users in ``ps``) or
settings. The password is never printed, logged or stored in the ledger.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field
from pathlib import Path

SECURITY = ("starttls", "tls", "plain")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "plain": 25}
USER_ENV, PASSWORD_ENV = "CWI_SMTP_USER", "CWI_SMTP_PASSWORD"


class SmtpConfigError(ValueError):
    """The connection settings are unsafe or incomplete; nothing was sent."""


class MailAuthError(RuntimeError):
    """The server refused the user name or password; nothing was sent."""


class NoStartTLSError(RuntimeError):
    """The server does not offer STARTTLS; nothing was sent in plain text."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect."""

    host: str
    port: int
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    timeout: float = 30.0

    @classmethod
    def from_env(
        cls,
        host: str,
        port: int | None = None,
        security: str = "starttls",
        ca_file: Path | None = None,
        timeout: float = 30.0,
    ) -> SmtpConfig:
        """Connection settings with credentials from ``CWI_SMTP_USER`` / ``CWI_SMTP_PASSWORD``."""
        user = os.environ.get(USER_ENV) or None
        password = os.environ.get(PASSWORD_ENV) or None
        if (user is None) != (password is None):
            raise SmtpConfigError(
                f"Set both {USER_ENV} and {PASSWORD_ENV} (or neither, for a server that needs "
                "no login)."
            )
        config = cls(
            host=host,
            port=port or DEFAULT_PORTS.get(security, 587),
            security=security,
            user=user,
            password=password,
            ca_file=ca_file,
            timeout=timeout,
        )
        config.check()
        return config

    def check(self) -> None:
        """Refuse unsafe settings before any connection is made."""
        if self.security not in SECURITY:
            raise SmtpConfigError(
                f"Unknown security {self.security!r}: use starttls, tls or plain (localhost only)."
            )
        if self.security == "plain" and self.host not in LOCAL_HOSTS:
            raise SmtpConfigError(
                f"Plain (unencrypted) SMTP is only allowed to this machine, not to {self.host}: "
                "use --security starttls or tls."
            )
        if not self.host:
            raise SmtpConfigError("No SMTP server: give --host or set CWI_SMTP_HOST.")

    def tls_context(self) -> ssl.SSLContext:
        """A verifying TLS context (system CAs, or ``ca_file`` if given)."""
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)


def connect(config: SmtpConfig) -> smtplib.SMTP:
    """Open an encrypted (or, to localhost when asked, plain) session and log in.

    Raises
    ------
    NoStartTLSError
        ``starttls`` was asked for and the server does not offer it (nothing was sent).
    MailAuthError
        The server refused the credentials.
    """
    config.check()
    if config.security == "tls":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=config.tls_context()
        )
        conn.ehlo()
    else:
        conn = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        conn.ehlo()
        if config.security == "starttls":
            if not conn.has_extn("starttls"):
                _quit(conn)
                raise NoStartTLSError(
                    f"{config.host}:{config.port} does not offer STARTTLS, so nothing was sent "
                    "(messages and the password would travel unencrypted). Use a server that "
                    "offers STARTTLS, or --security tls for implicit TLS."
                )
            conn.starttls(context=config.tls_context())
            conn.ehlo()
    if config.user:
        try:
            conn.login(config.user, config.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            _quit(conn)
            raise MailAuthError(
                f"{config.host} refused the user name or password ({exc.smtp_code}). Check "
                f"{USER_ENV} and {PASSWORD_ENV}; nothing was sent and nothing was marked as sent."
            ) from None
        except smtplib.SMTPNotSupportedError:
            _quit(conn)
            raise MailAuthError(
                f"{config.host} does not accept a login on this connection; nothing was sent."
            ) from None
    return conn


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()
