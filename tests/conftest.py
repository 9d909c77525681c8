"""Test harness: a real database, a real SMTP server, and the real app, called in-process.

Tests call the app through Flask's test client by default (`app`, `http`, `browser`): a
real WSGI call with no socket. A test that needs a socket (Chromium, an SDK or node client,
other processes, TLS) asks for `server`, a live threaded server on 127.0.0.1; then `app` is
that server's app and `browser` talks HTTP to it.

The suite runs on a temporary SQLite file by default. With DATABASE_URL and REDIS_URL set it
runs on PostgreSQL and Redis instead: the schema of that database is dropped and rebuilt
through the migrations, and every Redis key the tests write carries a per-run prefix that is
deleted at the end.

Settings per test: `@pytest.mark.settings(IDP_SIGN_IN_IP_LIMIT="2 per minute")`.

The helpers live in tests/helpers; the names below stay importable from here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import MetaData, create_engine, make_url, text

import idp.models  # noqa: F401 (every table: the clean-up after each test empties them all)
from idp import db as database
from idp.app import create_app
from idp.db import Model
from idp.settings import Settings
from tests.helpers import factories
from tests.helpers.browser import CSRF, Browser
from tests.helpers.factories import PASSWORD, REDIRECT_URI, RegisteredClient
from tests.helpers.http import ISSUER, AppClient
from tests.helpers.live_server import POLL_INTERVAL, LiveServer, free_port
from tests.helpers.mail import Inbox, html_of, link_in, text_of
from tests.helpers.waiting import settle

__all__ = [
    "CSRF",
    "PASSWORD",
    "POLL_INTERVAL",
    "REDIRECT_URI",
    "SECRET",
    "AppClient",
    "Browser",
    "Inbox",
    "LiveServer",
    "RegisteredClient",
    "free_port",
    "html_of",
    "link_in",
    "text_of",
]

# Chromium fixtures for every package that drives a browser (tests/browser, tests/mcp): one
# registration, so the whole run shares one browser and one Playwright event loop; the clock
# lets tests wait for background work and move time.
pytest_plugins = ["tests.browser.fixtures", "tests.helpers.clock"]

SECRET = "test-secret-" + "s" * 40
RUN_PREFIX = f"idp-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    raw = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db')}/idp.db"
    url = Settings.from_env({"DATABASE_URL": raw, "IDP_SECRET_KEY": SECRET}).database_url
    url = own_database(url, os.environ.get("PYTEST_XDIST_WORKER", ""))
    engine = create_engine(url)
    with engine.begin() as connection:
        # Every table the database has, not only those this code's models name: a table an
        # earlier run made (another revision, a model no module imported yet) must not keep
        # its foreign keys on the tables to drop.
        existing = MetaData()
        existing.reflect(connection)
        existing.drop_all(connection)
    engine.dispose()
    database.upgrade(url)
    return url


def own_database(url: str, worker: str) -> str:
    """The suite runs in parallel processes (pytest-xdist), each wiping tables after every
    test: on a database server each process gets its own database, `<name>_<worker>`, created
    when missing. SQLite files are already per process (a temporary folder per worker)."""
    parts = make_url(url)
    if not worker or parts.get_backend_name() == "sqlite":
        return url
    name = f"{parts.database}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parts.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "")
    yield url
    if url:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"*{RUN_PREFIX}*", count=1000):
            client.delete(key)


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


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[LiveServer]:
    """A live server on a socket, for the tests that need one (see the module docstring)."""
    live = LiveServer(env)
    yield live
    live.stop()


def _uses_server(request: pytest.FixtureRequest) -> bool:
    return "server" in request.fixturenames


@pytest.fixture
def app(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[Flask]:
    """The app under test: without a server (issuer `ISSUER`), or the live server's app when
    the test uses `server`."""
    if _uses_server(request):
        live: LiveServer = request.getfixturevalue("server")
        yield live.app
        return
    env.setdefault("IDP_ISSUER", ISSUER)
    created = create_app(Settings.from_env(env))
    yield created
    settle(timeout=30)  # work after an answer must not outlive its app (or use its pool)
    with created.app_context():
        database.dispose()


@pytest.fixture
def build_app() -> Iterator[Callable[[Settings], Flask]]:
    """Build more apps in a test (another process's view, other settings): each one's
    connection pools are closed at the end, as `app`'s are."""
    built: list[Flask] = []

    def build(settings: Settings) -> Flask:
        built.append(create_app(settings))
        return built[-1]

    yield build
    settle(timeout=30)
    for each in built:
        with each.app_context():
            database.dispose()


@pytest.fixture
def http(request: pytest.FixtureRequest, app: Flask) -> AppClient | LiveServer:
    """Plain HTTP calls to the app without a socket: `http.post("/token", data=..., auth=...)`,
    the surface of `requests` on the issuer's paths (`http.base`, `http.app`). When the test
    uses `server`, that server (same surface, over a socket)."""
    if _uses_server(request):
        live: LiveServer = request.getfixturevalue("server")
        return live
    return AppClient(app)


@pytest.fixture
def browser(http: AppClient | LiveServer) -> Browser:
    """The form-filling client, with a cookie jar of its own: in-process, or HTTP to `server`
    when the test uses it."""
    return Browser(http)


@pytest.fixture
def make_user(app: Flask) -> Any:
    """Factory: `make_user(email="a@example.com", password=PASSWORD, name="A")`."""
    return lambda *args, **kwargs: factories.make_user(app, *args, **kwargs)


@pytest.fixture
def snapshot(app: Flask) -> Any:
    """Every row of every table, to show that a refused request stored nothing."""
    return lambda **kwargs: factories.snapshot(app, **kwargs)


@pytest.fixture
def make_client(app: Flask) -> Any:
    """Factory: `make_client(name=..., redirect_uris=[...], **ClientSpec fields)`."""
    return lambda **overrides: factories.make_client(app, **overrides)
