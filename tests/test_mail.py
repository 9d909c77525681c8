"""Outgoing mail: two-part messages over SMTP (plain, STARTTLS with login, implicit TLS), a
clear error when the server is down, and the development outbox when none is set."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.mail import MailError
from idp.settings import Settings
from tests.conftest import Inbox, free_port, html_of, text_of
from tests.helpers.waiting import assert_no_mail_to, settle


@pytest.fixture
def make_app(build_app):  # type: ignore[no-untyped-def]
    """An app on the test's settings with some changed; its pools closed at the end."""

    def make(env: dict[str, str], **overrides: str):  # type: ignore[no-untyped-def]
        return build_app(Settings.from_env({**env, **overrides}))

    return make


def send_one(app, to: str = "ada@example.com") -> None:
    with app.test_request_context():
        app.extensions["idp.mailer"].send(
            to,
            "Sign-in attempts were blocked",
            "credential_locked",
            user=type("U", (), {"name": "Ada"})(),
            credential="password",
            minutes=15,
            ip="203.0.113.9",
        )


def test_a_message_has_a_text_and_an_html_part(env, mailbox, make_app):
    app = make_app(env, IDP_SITE_NAME="Example ID", IDP_MAIL_FROM="Example ID <id@example.com>")

    send_one(app)

    message = mailbox.wait_for("ada@example.com", "Sign-in attempts were blocked")
    assert message["From"] == "Example ID <id@example.com>"
    assert message["Message-ID"] and message["Date"]
    assert "Hello Ada," in text_of(message)
    assert "203.0.113.9" in text_of(message)
    html = html_of(message)
    assert "<p>Hello Ada,</p>" in html
    assert "Example ID" in html


def test_the_default_sender_is_the_site_name_at_the_issuer_host(env):
    settings = Settings.from_env({**env, "IDP_ISSUER": "http://localhost:5000"})
    assert settings.mail_from == "Identity <no-reply@localhost>"


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # The app verifies the server against the system trust store; point it at our CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return context


def _authenticator(http, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"mailer"
        and (auth_data.password == b"p@ss word")
    )
    return AuthResult(success=ok)


@pytest.fixture
def starttls_server(tls: ssl.SSLContext) -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=tls,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    yield controller.port, inbox
    controller.stop()


def test_starttls_with_login(env, starttls_server, make_app):
    port, inbox = starttls_server
    # The password is percent-encoded in the URL.
    app = make_app(env, IDP_SMTP_URL=f"smtp+starttls://mailer:p%40ss%20word@127.0.0.1:{port}")

    send_one(app)

    assert "Hello Ada," in text_of(inbox.wait_for("ada@example.com"))


def test_a_wrong_smtp_password_is_a_clear_error(env, starttls_server, make_app):
    port, inbox = starttls_server
    app = make_app(env, IDP_SMTP_URL=f"smtp+starttls://mailer:wrong@127.0.0.1:{port}")

    with pytest.raises(MailError) as raised:
        send_one(app)

    assert raised.value.message.startswith("We couldn't send the email just now.")
    assert_no_mail_to(inbox, "ada@example.com")


@pytest.fixture
def implicit_tls_server(tls: ssl.SSLContext) -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=tls)
    controller.start()
    yield controller.port, inbox
    controller.stop()


def test_implicit_tls(env, implicit_tls_server, make_app):
    port, inbox = implicit_tls_server
    app = make_app(env, IDP_SMTP_URL=f"smtps://127.0.0.1:{port}")

    send_one(app)

    assert "Hello Ada," in text_of(inbox.wait_for("ada@example.com"))


def test_a_server_that_is_down_is_a_clear_error(env, make_app):
    app = make_app(env, IDP_SMTP_URL=f"smtp://127.0.0.1:{free_port()}", IDP_SMTP_TIMEOUT="2")

    with pytest.raises(MailError) as raised:
        send_one(app)

    assert raised.value.message == (
        "We couldn't send the email just now. Nothing was changed; please try again in a few "
        "minutes."
    )
    assert raised.value.status == 503


def test_sending_later_never_raises_and_logs_the_failure(env, caplog, make_app):
    app = make_app(env, IDP_SMTP_URL=f"smtp://127.0.0.1:{free_port()}", IDP_SMTP_TIMEOUT="2")
    caplog.set_level(logging.ERROR, logger="idp.mail")

    with app.test_request_context():
        app.extensions["idp.mailer"].send_later(
            "ada@example.com",
            "Blocked",
            "credential_locked",
            user=type("U", (), {"name": "Ada"})(),
            credential="password",
            minutes=15,
            ip=None,
        )
    settle()  # the delivery thread has given up

    assert "mail to ada@example.com failed" in caplog.text, "the failure was not logged"


@pytest.mark.settings(IDP_SMTP_URL="")
def test_without_a_server_mail_goes_to_the_development_outbox(http, browser):
    send_one(http.app)

    listing = browser.get("/dev/outbox")
    assert listing.status_code == 200
    assert "ada@example.com" in listing.text
    assert "Sign-in attempts were blocked" in listing.text
    [name] = [p.stem for p in (http.settings.instance_dir / "outbox").glob("*.eml")]

    shown = browser.get(f"/dev/outbox/{name}")
    assert shown.status_code == 200
    assert "Hello Ada," in shown.text
    assert browser.get("/dev/outbox/not-a-message").status_code == 404


def test_the_outbox_page_exists_only_in_development(env, tmp_path, make_app):
    app = make_app(
        env,
        IDP_ENV="production",
        IDP_ISSUER="https://id.example.com",
        IDP_SMTP_URL="",
    )
    assert "outbox.index" not in app.view_functions
    assert "outbox.show" not in app.view_functions
