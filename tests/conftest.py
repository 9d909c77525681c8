"""Test harness: a real database, a real HTTP server, and a client that fills real forms.

The suite runs on a temporary SQLite file by default. With DATABASE_URL and REDIS_URL set it
runs on PostgreSQL and Redis instead: the schema of that database is dropped and rebuilt
through the migrations, and every Redis key the tests write carries a per-run prefix that is
deleted at the end.

Settings per test: `@pytest.mark.settings(IDP_SIGN_IN_IP_LIMIT="2 per minute")`.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import create_engine, text
from werkzeug.serving import BaseWSGIServer, make_server

from idp import db as database
from idp.app import create_app
from idp.db import Model
from idp.identity import users
from idp.oauth.clients import ClientSpec, create_client
from idp.settings import Settings

# Chromium fixtures for every package that drives a browser (tests/browser, tests/mcp): one
# registration, so the whole run shares one browser and one Playwright event loop.
pytest_plugins = ["tests.browser.fixtures", "tests.helpers.clock"]

PASSWORD = "plum-orchard-47-lantern"
SECRET = "test-secret-" + "s" * 40
RUN_PREFIX = f"idp-test-{uuid.uuid4().hex[:8]}:"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    raw = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db')}/idp.db"
    url = Settings.from_env({"DATABASE_URL": raw, "IDP_SECRET_KEY": SECRET}).database_url
    engine = create_engine(url)
    with engine.begin() as connection:
        Model.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    database.upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "")
    yield url
    if url:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"*{RUN_PREFIX}*", count=1000):
            client.delete(key)


class Inbox:
    """What a real SMTP server (aiosmtpd, on 127.0.0.1) received during the run."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self._changed:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._changed.notify_all()
        return "250 Message accepted"

    def clear(self) -> None:
        with self._changed:
            self.messages.clear()
            self.envelopes.clear()

    def to(self, address: str) -> list[EmailMessage]:
        with self._changed:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, to: str, subject: str = "", timeout: float = 10) -> EmailMessage:
        """The newest message to `to` whose subject contains `subject`; waits for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    m
                    for m in self.messages
                    if to.lower() in str(m["To"]).lower() and subject in str(m["Subject"])
                ]
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no mail to {to} with {subject!r} in {timeout}s; got "
                        f"{[(str(m['To']), str(m['Subject'])) for m in self.messages]}"
                    )
                self._changed.wait(left)

    def wait_for_count(self, to: str, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Wait until `count` messages reached `to` (mail is often sent in the background)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (
                len(found := [m for m in self.messages if to.lower() in str(m["To"]).lower()])
                < count
            ):
                left = deadline - time.monotonic()
                assert left > 0, f"{len(found)} of {count} messages to {to} in {timeout}s"
                self._changed.wait(left)
            return found

    def assert_nothing_to(self, address: str, wait: float = 1.0) -> None:
        """No message reached `address` (waiting `wait` s for background deliveries)."""
        time.sleep(wait)
        assert self.to(address) == [], [str(m["Subject"]) for m in self.to(address)]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the message has no plain-text part"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the message has no HTML part"
    return str(part.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    """The first URL in the plain-text part whose path starts with `path`."""
    for url in re.findall(r"https?://\S+", text_of(message)):
        if urlsplit(url).path.startswith(path):
            return url
    raise AssertionError(f"no link to {path} in:\n{text_of(message)}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield f"smtp://127.0.0.1:{controller.port}", inbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[str, Inbox]) -> Inbox:
    """Mail sent by the app under test (every test's app sends to the run's SMTP server)."""
    smtp_server[1].clear()
    return smtp_server[1]


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One signing key for the run: generating RSA keys per test would only cost time."""
    return tmp_path_factory.mktemp("keys")


@pytest.fixture
def env(
    request: pytest.FixtureRequest,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    keys_dir: Path,
    smtp_server: tuple[str, Inbox],
) -> dict[str, str]:
    """The environment the app under test reads its settings from."""
    values = {
        "IDP_ENV": "development",
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"),
        "IDP_KEYS_DIR": str(keys_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # A fresh prefix per test: rate-limit counters never leak between tests.
        "IDP_REDIS_PREFIX": f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}:",
        "IDP_SMTP_URL": smtp_server[0],
    }
    for marker in reversed(list(request.node.iter_markers("settings"))):
        values.update({key: str(value) for key, value in marker.kwargs.items()})
    return values


@pytest.fixture(autouse=True)
def _clean_database(database_url: str) -> Iterator[None]:
    yield
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for table in reversed(Model.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


class LiveServer:
    """The app under a real threaded WSGI server on 127.0.0.1, on a free port."""

    def __init__(self, env: dict[str, str], ssl_context: Any = None, issuer_path: str = "") -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, _unset_app, threaded=True, ssl_context=ssl_context
        )
        # Let `stop` wait for requests in flight, so no thread holds a database connection
        # (and its locks) after the test.
        self._server.daemon_threads = False
        self._server.block_on_close = True  # type: ignore[attr-defined]
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.port}"
        env.setdefault("IDP_ISSUER", self.url + issuer_path)
        self.settings = Settings.from_env(env)
        self.app: Flask = create_app(self.settings)
        self._server.app = self.app
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        with self.app.app_context():
            database.db.engine.dispose()


def _unset_app(environ: Any, start_response: Any) -> list[bytes]:
    raise RuntimeError("the live server's app is set right after binding")


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[LiveServer]:
    live = LiveServer(env)
    yield live
    live.stop()


@pytest.fixture
def app(server: LiveServer) -> Flask:
    return server.app


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Browser:
    """A cookie-keeping HTTP client that submits forms the way a browser would."""

    base: str
    http: requests.Session = field(default_factory=requests.Session)
    last: requests.Response | None = None

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        self.last = self.http.get(self.base + path, allow_redirects=False, **kwargs)
        return self.last

    def csrf(self, page: str) -> str:
        match = CSRF.search(self.get(page).text)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def submit(
        self, page: str, action: str | None = None, csrf: bool = True, **fields: str
    ) -> requests.Response:
        """Open `page`, take its CSRF token, and POST `fields` to `action` (default: the page)."""
        data = dict(fields)
        if csrf:
            data["csrf_token"] = self.csrf(page)
        self.last = self.http.post(self.base + (action or page), data=data, allow_redirects=False)
        return self.last

    def sign_up(self, email: str, password: str = PASSWORD, name: str = "Ada") -> requests.Response:
        return self.submit("/sign-up", name=name, email=email, password=password)

    def sign_in(self, email: str, password: str = PASSWORD, **extra: str) -> requests.Response:
        return self.submit("/sign-in", email=email, password=password, **extra)

    def cookie(self, name: str = "idp_session") -> str | None:
        return self.http.cookies.get(name)


@pytest.fixture
def browser(server: LiveServer) -> Browser:
    return Browser(server.url)


@pytest.fixture
def make_user(app: Flask) -> Any:
    """Factory: `make_user(email="a@example.com", password=PASSWORD, name="A")`."""

    def make(email: str = "ada@example.com", password: str = PASSWORD, name: str = "Ada") -> int:
        with app.app_context():
            return users.create_user(email, name, password).id

    return make


@pytest.fixture
def snapshot(app: Flask) -> Any:
    """Every row of every table, to show that a refused request stored nothing."""

    def take(*, ignore: tuple[str, ...] = ("audit_event",)) -> dict[str, list[tuple[Any, ...]]]:
        with app.app_context():
            return {
                table.name: sorted(
                    (tuple(row) for row in database.db.session.execute(table.select())), key=repr
                )
                for table in Model.metadata.sorted_tables
                if table.name not in ignore
            }

    return take


REDIRECT_URI = "http://127.0.0.1:9/callback"


@dataclass
class RegisteredClient:
    client_id: str
    client_secret: str | None
    redirect_uri: str = REDIRECT_URI


@pytest.fixture
def make_client(app: Flask) -> Any:
    def make(**overrides: Any) -> RegisteredClient:
        spec = ClientSpec(
            name=overrides.pop("name", "Test App"),
            redirect_uris=overrides.pop("redirect_uris", [REDIRECT_URI]),
            **overrides,
        )
        with app.app_context():
            client, secret = create_client(spec)
            return RegisteredClient(
                client.client_id, secret, spec.redirect_uris[0] if spec.redirect_uris else ""
            )

    return make
