"""What dynamic client registration accepts from MCP clients, and when their clients expire.

RFC 7591 §2 (public clients: token_endpoint_auth_method "none"), §3.2.2 (invalid_redirect_uri);
RFC 8252 §7.1 (private-use schemes), §7.3 (loopback redirects, any port), §8.3 (`localhost`,
accepted here because MCP clients register it); MCP authorization 2025-11-25 "Dynamic Client
Registration". Clients registered this way and unused for IDP_DYNAMIC_CLIENT_UNUSED_TTL are
deleted on the next registration and by `idp clients prune`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, update

from idp.core.audit import AuditEvent
from idp.db import db, utcnow
from idp.oauth.models import Client
from tests.conftest import PASSWORD, SECRET
from tests.oauth.conftest import RegisteredClient, authorize_url, follow, pkce, query_of
from tests.test_cli import run

ADA = ("ada@example.com", PASSWORD)
DAY = 86400


def register(http, **metadata) -> requests.Response:
    body = {"client_name": "Agent", "token_endpoint_auth_method": "none", **metadata}
    return http.post("/register", json=body, timeout=5)


def client_ids(http) -> set[str]:
    with http.app.app_context():
        return set(db.session.scalars(select(Client.client_id)))


def age(http, client_id: str, *, created: float, used: float | None = None) -> None:
    """Move a client's registration (and last use) `created`/`used` days into the past."""
    now = utcnow()
    with http.app.app_context():
        db.session.execute(
            update(Client)
            .where(Client.client_id == client_id)
            .values(
                created_at=now - timedelta(days=created),
                last_used_at=None if used is None else now - timedelta(days=used),
            )
        )
        db.session.commit()


def last_used(http, client_id: str):
    with http.app.app_context():
        return db.session.scalar(select(Client.last_used_at).where(Client.client_id == client_id))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://agent.example/callback",
        "http://127.0.0.1/callback",
        "http://[::1]:8080/callback",
        "http://localhost/callback",
        "http://localhost:33418/callback",
        "com.example.agent:/callback",
    ],
)
def test_a_public_client_registers_with_an_allowed_redirect_uri(http, redirect_uri):
    response = register(http, redirect_uris=[redirect_uri])

    assert response.status_code == 201, response.text
    info = response.json()
    assert info["token_endpoint_auth_method"] == "none"
    assert info["redirect_uris"] == [redirect_uri]
    assert "client_secret" not in info


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://agent.example/callback",  # http off loopback
        "http://localhost.agent.example/callback",  # only looks like localhost
        "ftp://agent.example/callback",
        "agent:/callback",  # a private-use scheme must be a reverse domain name
        "javascript:alert(1)",
        "https://agent.example/callback#done",
    ],
)
def test_any_other_redirect_uri_is_invalid_redirect_uri(http, snapshot, redirect_uri):
    """RFC 7591 §3.2.2: invalid_redirect_uri, and nothing is stored."""
    before = snapshot()

    response = register(http, redirect_uris=["https://agent.example/ok", redirect_uri])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert redirect_uri in response.json()["error_description"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("redirect_uri", "problem"),
    [
        ("http://evil@127.0.0.1/callback", "must not contain a user name or password"),
        ("https://a:b@agent.example/callback", "must not contain a user name or password"),
        ("http://127.0.0.1:99999/callback", "must have a port from 1 to 65535"),
        ("http://127.0.0.1:0/callback", "must have a port from 1 to 65535"),
        ("http://[::1]:port/callback", "must have a port from 1 to 65535"),
        ("https://agent.example:/callback", "must have a port from 1 to 65535"),
    ],
)
def test_a_redirect_uri_with_userinfo_or_a_bad_port_is_refused(
    http, snapshot, redirect_uri, problem
):
    """RFC 7591 §3.2.2 invalid_redirect_uri: a port is a number from 1 to 65535 (RFC 3986
    §3.2.3, RFC 8252 §7.3), and a redirect URI names no user (RFC 3986 §3.2.1 deprecates a
    password there; RFC 9700 §4.1.3 compares the whole string)."""
    before = snapshot()

    response = register(http, redirect_uris=[redirect_uri])

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_redirect_uri",
        "error_description": f"Redirect URI {redirect_uri!r} {problem}.",
    }
    assert snapshot() == before


def test_a_localhost_redirect_uri_may_use_any_port(http, browser, make_user):
    """RFC 8252 §7.3: the loopback port is chosen when the app runs; localhost too (§8.3)."""
    make_user(ADA[0])
    info = register(http, redirect_uris=["http://localhost/callback"]).json()
    client = RegisteredClient(info["client_id"], None, "http://localhost:51234/callback")
    browser.sign_in(*ADA)

    location = follow(browser, authorize_url(client, pkce()[1]))

    assert location.startswith("http://localhost:51234/callback?code=")


def test_another_host_or_path_does_not_match_a_localhost_redirect(http, browser):
    info = register(http, redirect_uris=["http://localhost/callback"]).json()
    for asked in ("http://localhost:51234/other", "http://127.0.0.1:51234/callback"):
        client = RegisteredClient(info["client_id"], None, asked)

        response = browser.get(authorize_url(client, pkce()[1]))

        assert response.status_code == 400
        assert "Location" not in response.headers


def test_using_the_token_endpoint_marks_the_client_used(http, browser, make_user, snapshot):
    make_user(ADA[0])
    info = register(http, redirect_uris=["http://127.0.0.1:9/callback"]).json()
    client = RegisteredClient(info["client_id"], None)
    verifier, challenge = pkce()
    browser.sign_in(*ADA)
    code = query_of(follow(browser, authorize_url(client, challenge)))["code"]
    before = snapshot()
    token = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "client_id": client.client_id,
    }

    refused = http.post("/token", data={**token, "code_verifier": "x" * 43}, timeout=5)
    assert refused.status_code == 400
    assert snapshot() == before  # a failed request is no use
    assert last_used(http, client.client_id) is None

    answered = http.post("/token", data={**token, "code_verifier": verifier}, timeout=5)
    assert answered.status_code == 200, answered.text
    assert last_used(http, client.client_id) is not None


def test_a_registration_deletes_dynamic_clients_unused_for_the_ttl(http, make_client):
    never_used = register(http, redirect_uris=["https://a.example/cb"]).json()["client_id"]
    used_long_ago = register(http, redirect_uris=["https://b.example/cb"]).json()["client_id"]
    used_lately = register(http, redirect_uris=["https://c.example/cb"]).json()["client_id"]
    young = register(http, redirect_uris=["https://d.example/cb"]).json()["client_id"]
    by_hand = make_client().client_id  # registered by an operator: never expires
    age(http, never_used, created=31)
    age(http, used_long_ago, created=90, used=31)
    age(http, used_lately, created=90, used=29)
    age(http, young, created=29)
    age(http, by_hand, created=365)

    newest = register(http, redirect_uris=["https://e.example/cb"]).json()["client_id"]

    assert client_ids(http) == {used_lately, young, by_hand, newest}
    with http.app.app_context():
        deleted = db.session.scalars(
            select(AuditEvent.subject).where(AuditEvent.event == "client_deleted")
        )
        assert set(deleted) == {never_used, used_long_ago}


@pytest.mark.settings(IDP_DYNAMIC_CLIENT_UNUSED_TTL="3600")
def test_the_unused_ttl_is_a_setting(http):
    stale = register(http, redirect_uris=["https://a.example/cb"]).json()["client_id"]
    age(http, stale, created=2 / 24)

    fresh = register(http, redirect_uris=["https://b.example/cb"]).json()["client_id"]

    assert client_ids(http) == {fresh}


def test_the_prune_command_deletes_unused_dynamic_clients(
    http, make_client, database_url: str, tmp_path: Path, keys_dir: Path
):
    stale = [
        register(http, redirect_uris=[f"https://{host}.example/cb"]).json()["client_id"]
        for host in ("a", "b")
    ]
    kept = register(http, redirect_uris=["https://c.example/cb"]).json()["client_id"]
    by_hand = make_client().client_id
    for client_id in stale:
        age(http, client_id, created=40)
    age(http, by_hand, created=40)
    env = {
        "DATABASE_URL": database_url,
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(keys_dir),
    }

    result = run("clients", "prune", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Deleted 2 unused dynamically registered clients."
    assert client_ids(http) == {kept, by_hand}
    again = run("clients", "prune", env=env)
    assert again.stdout.strip() == "Deleted 0 unused dynamically registered clients."
