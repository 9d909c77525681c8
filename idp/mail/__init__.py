"""Outgoing mail: every message has a plain-text and an HTML part, rendered from
`templates/mail/<name>.txt` and `templates/mail/<name>.html`.

`send` delivers before returning and raises `MailError` when the server cannot take the
message: for flows where the person is signed in and must know the mail went out (changing
the email address). `send_later` renders now and delivers on a thread of its own: for flows
that must answer the same whether or not an account exists (reset, magic link, sign-up), so
neither SMTP latency nor an SMTP failure shows in the response.

With no `IDP_SMTP_URL`, messages go to the development outbox: `.eml` files in the instance
folder, logged, and listed at /dev/outbox in development mode.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, render_template

from idp.core.security import new_token
from idp.errors import IdpError
from idp.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailError(IdpError):
    code = "mail_unavailable"
    status = 503


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.outbox = settings.instance_dir / "outbox"

    def compose(self, to: str, subject: str, template: str, **context: object) -> EmailMessage:
        """Render `template` into a two-part message; needs an app context."""
        context = {"subject": subject, "to": to, "issuer": self.settings.issuer, **context}
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=urlsplit(self.settings.issuer).hostname)
        message.set_content(render_template(f"mail/{template}.txt", **context))
        message.add_alternative(render_template(f"mail/{template}.html", **context), subtype="html")
        return message

    def send(self, to: str, subject: str, template: str, **context: object) -> None:
        """Deliver now; `MailError` (with a message for the user) when the server fails."""
        message = self.compose(to, subject, template, **context)
        try:
            self.deliver(message)
        except (OSError, smtplib.SMTPException) as error:
            log.error("mail to %s failed: %s", to, error)
            raise MailError(
                "We couldn't send the email just now. Nothing was changed; please try again "
                "in a few minutes.",
                detail=str(error),
            ) from error

    def send_later(self, to: str, subject: str, template: str, **context: object) -> None:
        """Deliver on a background thread; failures are logged, never shown."""
        message = self.compose(to, subject, template, **context)
        threading.Thread(
            target=self._deliver_quietly, args=(message,), name="mail", daemon=True
        ).start()

    def deliver(self, message: EmailMessage) -> None:
        if not self.settings.smtp_url:
            self._to_outbox(message)
            return
        url = urlsplit(self.settings.smtp_url)
        host, port = url.hostname or "localhost", url.port or DEFAULT_PORTS[url.scheme]
        timeout = self.settings.smtp_timeout
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
        log.info("mail sent to %s: %s", message["To"], message["Subject"])

    def _deliver_quietly(self, message: EmailMessage) -> None:
        try:
            self.deliver(message)
        except Exception as error:  # a background thread has nobody else to tell
            log.error("mail to %s failed: %s", message["To"], error)

    def _to_outbox(self, message: EmailMessage) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        path = self.outbox / f"{formatdate_compact()}-{new_token(6)}.eml"
        path.write_bytes(bytes(message))
        log.info(
            "mail to %s: %s (no IDP_SMTP_URL; kept in %s)", message["To"], message["Subject"], path
        )

    def outbox_messages(self) -> list[Path]:
        """Newest first."""
        if not self.outbox.is_dir():
            return []
        return sorted(self.outbox.glob("*.eml"), reverse=True)


def formatdate_compact() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")


def init_app(app: Flask, mailer: Mailer) -> None:
    app.extensions["idp.mailer"] = mailer


def app_mailer() -> Mailer:
    """The mailer of the current app."""
    value: Mailer = current_app.extensions["idp.mailer"]
    return value
