"""`idp clients create|list|delete`: register clients from the command line.

The secret is printed once and stored only as its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from idp.db import db
from idp.oauth.clients import new_client_id
from idp.oauth.models import Client
from idp.oauth.resources import create_resource
from tests.conftest import SECRET
from tests.test_cli import run


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, keys_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(keys_dir),
    }


def test_create_prints_the_client_with_its_secret_once(cli_env, app):
    result = run(
        "clients",
        "create",
        "--name",
        "Shop",
        "--redirect-uri",
        "https://shop.example/cb",
        "--grant",
        "authorization_code",
        "--grant",
        "client_credentials",
        "--scope",
        "openid",
        "--scope",
        "email",
        "--access-token-ttl",
        "600",
        env=cli_env,
    )

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["client_name"] == "Shop"
    assert created["grant_types"] == ["authorization_code", "client_credentials"]
    assert created["scope"] == "openid email"
    assert created["access_token_ttl"] == 600
    with app.app_context():
        row = db.session.scalar(select(Client).where(Client.client_id == created["client_id"]))
        assert row.secret_hash == hashlib.sha256(created["client_secret"].encode()).hexdigest()
    listed = run("clients", "list", env=cli_env)
    assert created["client_secret"] not in listed.stdout
    assert json.loads(listed.stdout.splitlines()[0])["client_id"] == created["client_id"]


def test_a_public_client_has_no_secret(cli_env):
    result = run(
        "clients",
        "create",
        "--name",
        "CLI",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/callback",
        env=cli_env,
    )

    created = json.loads(result.stdout)
    assert created["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in created


def test_a_client_may_be_given_the_scopes_of_a_registered_resource(cli_env, app):
    """RFC 8707 §2: a registered resource's scopes are valid client scopes."""
    with app.app_context():
        create_resource("https://notes.example.com/mcp", "Notes", {"notes:read": ""})

    result = run(
        "clients",
        "create",
        "--name",
        "Notes sync",
        "--redirect-uri",
        "https://sync.example/cb",
        "--scope",
        "openid",
        "--scope",
        "notes:read",
        env=cli_env,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scope"] == "openid notes:read"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--redirect-uri", "http://shop.example/cb"],
            "Error: redirect_uris: Redirect URI 'http://shop.example/cb' may use http only on a "
            "loopback address (127.0.0.1, [::1] or localhost).",
        ),
        (
            ["--redirect-uri", "https://shop.example/cb#x"],
            "Error: redirect_uris: Redirect URI 'https://shop.example/cb#x' must not contain a "
            "fragment.",
        ),
        (
            ["--redirect-uri", "http://127.0.0.1:99999/cb"],
            "Error: redirect_uris: Redirect URI 'http://127.0.0.1:99999/cb' must have a port "
            "from 1 to 65535.",
        ),
        (
            ["--redirect-uri", "https://shop.example/cb", "--scope", "wallet"],
            "Error: scope: Unsupported scope: wallet.",
        ),
        ([], "Error: redirect_uris: The authorization_code grant needs a redirect URI."),
        (
            ["--public", "--grant", "client_credentials"],
            "Error: grant_types: A public client cannot use client_credentials.",
        ),
    ],
)
def test_create_refuses_bad_input_in_one_line(cli_env, snapshot, args, message):
    before = snapshot()

    result = run("clients", "create", "--name", "Shop", *args, env=cli_env)

    assert result.returncode == 1
    assert result.stderr.strip() == message
    assert snapshot() == before


def test_delete(cli_env, snapshot):
    created = json.loads(
        run(
            "clients",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example/cb",
            env=cli_env,
        ).stdout
    )

    deleted = run("clients", "delete", created["client_id"], env=cli_env)
    again = run("clients", "delete", created["client_id"], env=cli_env)

    assert deleted.returncode == 0
    assert run("clients", "list", env=cli_env).stdout == ""
    assert again.returncode == 1
    assert again.stderr.strip() == f"Error: client_id: no client '{created['client_id']}'"


def test_client_ids_never_look_like_an_option():
    """A client_id starting with "-" would be read as an option by `idp clients delete`
    (about one in 64 random ids did before); 2,000 draws would show it."""
    ids = [new_client_id() for _ in range(2000)]

    assert [i for i in ids if not i[0].isalnum()] == []
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 22 for i in ids)  # 16 random bytes, base64url without padding


def test_rotate_secret_disable_and_enable(cli_env, app, make_client):
    client = make_client()

    rotated = run("clients", "rotate-secret", client.client_id, env=cli_env)
    disabled = run("clients", "disable", client.client_id, env=cli_env)

    assert rotated.returncode == 0, rotated.stderr
    secret = json.loads(rotated.stdout)["client_secret"]
    assert disabled.stdout.strip() == f"Disabled client {client.client_id}."
    with app.app_context():
        stored = db.session.scalar(select(Client).where(Client.client_id == client.client_id))
        assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert stored.disabled_at is not None
    enabled = run("clients", "enable", client.client_id, env=cli_env)
    assert enabled.stdout.strip() == f"Enabled client {client.client_id}."


def test_rotate_secret_of_a_public_client_is_refused(cli_env, make_client, snapshot):
    client = make_client(public=True)
    before = snapshot()

    result = run("clients", "rotate-secret", client.client_id, env=cli_env)

    assert result.returncode == 1
    assert "authenticates with none, not a secret." in result.stderr
    assert snapshot() == before
