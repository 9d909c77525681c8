"""Upstream providers in tests: a second instance of this provider as the upstream (`peer`),
with its own database and keys folder, served at http://localhost:<port> so that its cookies
are not this instance's (served at 127.0.0.1; cookies ignore ports).

`connect(server, peer)` registers a client at the peer for this instance's callback and
configures the provider here; `Upstreamer` walks a person through the peer's sign-in with
plain HTTP, stopping at this instance's callback so a test can send it as it is or altered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import MetaData, create_engine, make_url, text

from idp import db as database
from idp.app import create_app
from idp.db import Model, db, utcnow
from idp.federation.upstream.providers import ProviderSpec, create_provider
from idp.identity import users
from idp.oauth.clients import ClientSpec, create_client
from idp.settings import Settings
from tests.helpers.browser import CSRF
from tests.helpers.factories import PASSWORD
from tests.helpers.live_server import LiveServer
from tests.helpers.waiting import settle

SLUG = "peer"


@pytest.fixture(scope="session")
def peer_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The peer's own database: a SQLite file, or `<this database>_peer` on PostgreSQL."""
    parts = make_url(database_url)
    if parts.get_backend_name() == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('peer-db')}/peer.db"
    else:
        name = f"{parts.database}_peer"
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not found:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url = parts.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as connection:  # every table it has, as the main database's fixture
        existing = MetaData()
        existing.reflect(connection)
        existing.drop_all(connection)
    engine.dispose()
    database.upgrade(url)
    return url


@pytest.fixture(scope="session")
def peer_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("peer-keys")


@pytest.fixture
def peer(
    env: dict[str, str], peer_database_url: str, peer_keys_dir: Path, tmp_path: Path
) -> Iterator[LiveServer]:
    """A second instance of this provider, the upstream, at http://localhost:<port>."""
    values = {
        **env,
        "DATABASE_URL": peer_database_url,
        "IDP_KEYS_DIR": str(peer_keys_dir),
        "IDP_INSTANCE_DIR": str(tmp_path / "peer-instance"),
        "IDP_REDIS_PREFIX": env["IDP_REDIS_PREFIX"] + "peer:",
        "IDP_SITE_NAME": "Peer",
    }
    values.pop("IDP_ISSUER", None)
    live = LiveServer(values)
    _serve_as_localhost(live, values)
    yield live
    live.stop()
    engine = create_engine(peer_database_url)
    with engine.begin() as connection:
        for table in reversed(Model.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


def _serve_as_localhost(live: LiveServer, values: dict[str, str]) -> None:
    """The same server, its issuer renamed http://localhost:<port>."""
    first = live.app
    port = urlsplit(live.url).port
    values["IDP_ISSUER"] = f"http://localhost:{port}"
    live.settings = Settings.from_env(values)
    live.app = create_app(live.settings)
    live._server.app = live.app
    live.url = live.base = values["IDP_ISSUER"]
    settle(timeout=30)
    with first.app_context():
        database.dispose()


@dataclass
class Connected:
    client_id: str
    client_secret: str
    email: str


def connect(
    server: LiveServer,
    peer: LiveServer,
    *,
    slug: str = SLUG,
    email: str = "ada@example.com",
    verified: bool = True,
    trusted: bool = True,
    keep_tokens: bool = False,
    first_party: bool = True,
    name: str = "Peer",
) -> Connected:
    """A person at the peer, a client there for this instance's callback, and the provider
    here."""
    with peer.app.app_context():
        if users.find_by_email(email) is None:
            person = users.create_user(email, "Ada Peer", PASSWORD)
            person.email_verified_at = utcnow() if verified else None
            db.session.commit()
        client, secret = create_client(
            ClientSpec(
                name="Federation",
                redirect_uris=[f"{server.url}/sign-in/with/{slug}/callback"],
                first_party=first_party,
            )
        )
        client_id = client.client_id
    assert secret is not None
    configure(server.app, slug, peer.url, client_id, secret, trusted, keep_tokens, name)
    return Connected(client_id, secret, email)


def configure(
    app: Flask,
    slug: str,
    issuer: str,
    client_id: str,
    secret: str,
    trusted: bool = True,
    keep_tokens: bool = False,
    name: str = "Peer",
    kind: str = "oidc",
) -> None:
    with app.app_context():
        spec = ProviderSpec(
            slug=slug,
            display_name=name,
            kind=kind,
            client_id=client_id,
            client_secret=secret,
            issuer=issuer,
            trusted_for_linking=trusted,
            keep_tokens=keep_tokens,
        )
        create_provider(spec, app.extensions["idp.settings"])


class Upstreamer:
    """A person's browser (one cookie jar for both hosts) going through the peer."""

    def __init__(self, server: LiveServer, peer: LiveServer, http: Any = None) -> None:
        self.server, self.peer = server, peer
        self.http = http or requests.Session()

    def get(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=20)

    def to_callback(
        self, start: str = f"/sign-in/with/{SLUG}", email: str = "ada@example.com"
    ) -> str:
        """Start here, sign in at the peer; the callback URL the peer sends the browser to."""
        answer = self.get(self.server.url + start)
        assert answer.status_code == 303, answer.text
        answer = self.get(answer.headers["Location"])  # the peer's /authorize
        while answer.status_code in (302, 303):
            location = _absolute(self.peer.url, answer.headers["Location"])
            if location.startswith(self.server.url):
                return location
            if urlsplit(location).path == "/sign-in":
                answer = self._sign_in_at_peer(location, email)
            else:
                answer = self.get(location)
        raise AssertionError(f"the peer answered {answer.status_code}: {answer.text[:300]}")

    def _sign_in_at_peer(self, page: str, email: str) -> requests.Response:
        form = self.get(page)
        match = CSRF.search(form.text)
        assert match
        next_url = parse_qs(urlsplit(page).query).get("next", [""])[0]
        data = {"csrf_token": match.group(1), "email": email, "password": PASSWORD}
        data["next"] = next_url
        return self.http.post(self.peer.url + "/sign-in", data=data, allow_redirects=False)

    def sign_in(self, **kwargs: Any) -> requests.Response:
        return self.get(self.to_callback(**kwargs))


def _absolute(base: str, location: str) -> str:
    return location if "://" in location else base + location
