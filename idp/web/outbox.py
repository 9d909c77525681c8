"""The development outbox: messages that had no SMTP server to go to, at /dev/outbox.

Registered only in development mode; in production the routes do not exist. Writing the
messages is `idp.mail`'s job; this module only shows them.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from flask import Blueprint, Flask, abort, render_template

from idp.mail import app_mailer

bp = Blueprint("outbox", __name__, url_prefix="/dev/outbox")


@bp.get("")
def index() -> str:
    messages = [(path.stem, _read(path.read_bytes())) for path in app_mailer().outbox_messages()]
    return render_template("mail/outbox.html", messages=messages)


@bp.get("/<name>")
def show(name: str) -> str:
    path = next((p for p in app_mailer().outbox_messages() if p.stem == name), None)
    if path is None:
        abort(404)
    message = _read(path.read_bytes())
    text = message.get_body(preferencelist=("plain",))
    body = text.get_content() if text is not None else ""
    return render_template("mail/outbox_message.html", name=name, message=message, body=body)


def _read(raw: bytes) -> EmailMessage:
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    return message


def init_app(app: Flask) -> None:
    if app.extensions["idp.settings"].env == "development":
        app.register_blueprint(bp)
