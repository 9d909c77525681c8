"""What one process caches, another process's change reaches: a production server (granian,
one worker) keeps clients, resource scopes, discovery and the JWKS in memory, and this test
process changes the shared database, as the command line, an admin page or another worker
would (idp.core.generations, idp.oauth.clients).

- RFC 6749 §2.3.1: a client's new secret works, the old one fails, as soon as the server
  can know: at once on SQLite (it reads the change counters per request), within a database
  notification's delivery on PostgreSQL (idp.core.notices; RFC 7009 §2.2 allows a short
  propagation between servers). Never longer than the listener's lease: `PROPAGATION` bounds
  the wait.
- RFC 6749 §3.1.2.3: a redirect URI removed is refused the same way.
- A deleted client cannot authenticate, and its client credentials tokens introspect inactive
  (RFC 7662 §2.2).
- RFC 8414 §2: a resource registered here appears in the server's `scopes_supported`.
- A family revoked here (a ban, a revocation at another worker) makes introspection and
  userinfo refuse it, the same way: on PostgreSQL the server keeps the families it read
  (idp.oauth.families) until a notification names them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from idp.app import create_app
from idp.core.security import digest
from idp.db import db, dispose
from idp.identity.models import User
from idp.oauth.clients import delete_client
from idp.oauth.grants import revoke_family
from idp.oauth.models import Client
from idp.oauth.resources import create_resource
from idp.oauth.tokens import Grant, app_tokens
from idp.settings import Settings
from tests.helpers.waiting import wait_until
from tests.oauth.test_many_processes import Process, start, two_ports, wait_until_ready

NEW_SECRET = "a-new-secret-for-this-client-0123456789"
PROPAGATION = 3.0  # seconds: a notification's delivery, or the listener's lease (1 s) at worst


@pytest.fixture
def other(env: dict[str, str], tmp_path: Path) -> Iterator[Process]:
    port = two_ports()[0]
    process = start({**env, "IDP_ISSUER": f"http://127.0.0.1:{port}"}, port, tmp_path / "b.log")
    try:
        wait_until_ready(process)
        yield process
    finally:
        process.stop()


@pytest.fixture
def app(other: Process, env: dict[str, str]) -> Iterator[Flask]:
    """This process's app, on the same database, with the server's issuer."""
    local = create_app(Settings.from_env({**env, "IDP_ISSUER": other.url}))
    yield local
    with local.app_context():
        dispose()


def client_credentials(process: Process, client_id: str, secret: str) -> requests.Response:
    data = {"grant_type": "client_credentials"}
    return requests.post(process.url + "/token", data=data, auth=(client_id, secret), timeout=10)


def soon(request: Callable[[], requests.Response], status: int) -> requests.Response:
    """The answer of `request()` once it is `status`: asked until then, for PROPAGATION s."""
    answers = wait_until(  # a list, true when it holds one (a 4xx response is false)
        lambda: [answer] if (answer := request()).status_code == status else [],
        PROPAGATION,
        f"HTTP {status}",
    )
    return answers[0]


def test_a_new_secret_and_a_deleted_client_are_seen(other, app, make_client):
    client = make_client(grant_types=["client_credentials"])
    assert client.client_secret
    token = client_credentials(other, client.client_id, client.client_secret)
    assert token.status_code == 200  # the server now holds the client in its cache

    with app.app_context():
        row = db.session.scalars(select(Client).where(Client.client_id == client.client_id)).one()
        row.secret_hash = digest(NEW_SECRET)
        db.session.commit()

    soon(lambda: client_credentials(other, client.client_id, client.client_secret or ""), 401)
    assert client_credentials(other, client.client_id, NEW_SECRET).status_code == 200

    with app.app_context():
        assert delete_client(client.client_id)
    refused = soon(lambda: client_credentials(other, client.client_id, NEW_SECRET), 401)
    assert refused.json()["error"] == "invalid_client"


def test_a_removed_redirect_uri_is_refused(other, app, make_client):
    client = make_client()
    authorize = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
        "scope": "openid",
    }
    first = requests.get(
        other.url + "/authorize", params=authorize, allow_redirects=False, timeout=10
    )
    assert first.status_code in (302, 303)  # on to sign-in: the redirect URI was accepted

    with app.app_context():
        row = db.session.scalars(select(Client).where(Client.client_id == client.client_id)).one()
        row.redirect_uris = ["https://elsewhere.example/cb"]
        db.session.commit()

    def again() -> requests.Response:
        url = other.url + "/authorize"
        return requests.get(url, params=authorize, allow_redirects=False, timeout=10)

    soon(again, 400)  # an error page, never a redirect to that URI


def test_a_resource_registered_here_is_in_the_servers_discovery(other, app):
    def scopes() -> list[str]:
        url = other.url + "/.well-known/openid-configuration"
        document = requests.get(url, timeout=10).json()
        return list(document["scopes_supported"])

    assert "reports:read" not in scopes()
    with app.app_context():
        create_resource("https://api.example/reports", "Reports", {"reports:read": ""})
    deadline = time.monotonic() + 10  # another process rechecks at most every second
    while "reports:read" not in scopes():
        assert time.monotonic() < deadline, "the new resource never reached discovery"
        time.sleep(0.1)


def test_a_revoked_family_is_refused(other, app, make_client, make_user):
    user_id = make_user("ada@example.com")
    client = make_client()
    with app.app_context():  # tokens as the code flow issues them, signed with the shared keys
        grant = Grant(
            client=db.session.scalars(select(Client)).one(),
            scope="openid profile",
            user=db.session.get(User, user_id),
        )
        family = app_tokens().open_family(grant)
        access_token = app_tokens().issue(grant, family, refresh=False)["access_token"]
        family_id = family.id
        db.session.commit()
    bearer = {"Authorization": "Bearer " + access_token}
    assert requests.get(other.url + "/userinfo", headers=bearer, timeout=10).status_code == 200

    with app.app_context():
        assert revoke_family(family_id)
        db.session.commit()

    soon(lambda: requests.get(other.url + "/userinfo", headers=bearer, timeout=10), 401)
    introspected = requests.post(
        other.url + "/introspect",
        data={"token": access_token},
        auth=(client.client_id, client.client_secret or ""),
        timeout=10,
    )
    assert introspected.json() == {"active": False}
