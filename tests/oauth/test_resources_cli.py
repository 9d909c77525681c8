"""`idp resources create|update|list|delete`: the registry of protected resources (RFC 8707),
through the real console script.

RFC 8707 §2: a resource URI is absolute and has no fragment. RFC 7662 §2.1: a resource's
introspecting client is a confidential client. Every refusal prints one line, exits non-zero
and stores nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from tests.conftest import SECRET
from tests.test_cli import run

NOTES = "https://notes.example.com/mcp"
FILES = "https://files.example.com/api"


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, keys_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(keys_dir),
    }


def create(cli_env, *args: str):
    return run("resources", "create", *args, env=cli_env)


def test_create_list_and_delete(cli_env, app):
    created = create(
        cli_env,
        NOTES,
        "--name",
        "Notes",
        "--scope",
        "notes:read=Read your notes",
        "--scope",
        "notes:write",
        "--access-token-ttl",
        "600",
    )

    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert body["uri"] == NOTES
    assert body["name"] == "Notes"
    assert body["scopes"] == {"notes:read": "Read your notes", "notes:write": ""}
    assert body["access_token_ttl"] == 600
    listed = run("resources", "list", env=cli_env)
    assert [json.loads(line)["uri"] for line in listed.stdout.splitlines()] == [NOTES]

    deleted = run("resources", "delete", NOTES, env=cli_env)

    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"Deleted resource {NOTES}."
    assert run("resources", "list", env=cli_env).stdout == ""
    with app.app_context():
        events = db.session.scalars(select(AuditEvent.event).order_by(AuditEvent.id)).all()
    assert events == ["resource_created", "resource_deleted"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["https://notes.example.com/mcp#x", "--name", "N", "--scope", "a"], "fragment"),
        (["notes", "--name", "N", "--scope", "a"], "must be an absolute URI"),
        ([NOTES, "--name", " ", "--scope", "a"], "needs a name"),
        ([NOTES, "--name", "N", "--scope", 'bad"scope'], "is not a scope token"),
        ([NOTES, "--name", "N", "--scope", "=No scope"], "is not a scope token"),
    ],
    ids=["fragment", "relative", "no-name", "bad-scope", "empty-scope"],
)
def test_bad_input_is_refused_with_one_line(cli_env, snapshot, args, message):
    before = snapshot(ignore=())

    result = create(cli_env, *args)

    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(ignore=()) == before


def test_options_are_checked_by_the_command_line(cli_env, snapshot):
    before = snapshot(ignore=())

    no_scope = create(cli_env, NOTES, "--name", "N")
    bad_ttl = create(cli_env, NOTES, "--name", "N", "--scope", "a", "--access-token-ttl", "0")

    assert no_scope.returncode == 2 and "Missing option '--scope'" in no_scope.stderr
    assert bad_ttl.returncode == 2 and "--access-token-ttl" in bad_ttl.stderr
    assert snapshot(ignore=()) == before


def test_a_duplicate_is_refused(cli_env, snapshot):
    assert create(cli_env, NOTES, "--name", "Notes", "--scope", "a").returncode == 0
    before = snapshot(ignore=())

    again = create(cli_env, NOTES, "--name", "Other", "--scope", "b")

    assert again.returncode == 1
    assert f"uri: A resource {NOTES} is already registered." in again.stderr
    assert snapshot(ignore=()) == before


def test_deleting_an_unknown_resource_fails(cli_env, snapshot):
    before = snapshot(ignore=())

    result = run("resources", "delete", NOTES, env=cli_env)

    assert result.returncode == 1
    assert f"uri: no resource '{NOTES}'" in result.stderr
    assert snapshot(ignore=()) == before


def test_a_resource_gets_an_introspecting_client_and_loses_it(cli_env, make_client):
    """RFC 7662: the resource server's confidential client may introspect its tokens."""
    api = make_client(name="Notes API", grant_types=["client_credentials"], redirect_uris=[])
    gateway = make_client(name="Gateway", grant_types=["client_credentials"], redirect_uris=[])

    created = create(
        cli_env, NOTES, "--name", "Notes", "--scope", "a", "--introspection-client", api.client_id
    )
    changed = run(
        "resources", "update", NOTES, "--introspection-client", gateway.client_id, env=cli_env
    )
    removed = run("resources", "update", NOTES, "--no-introspection-client", env=cli_env)

    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["introspection_client"] == api.client_id
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["introspection_client"] == gateway.client_id
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["introspection_client"] is None
    listed = run("resources", "list", env=cli_env).stdout
    assert json.loads(listed)["introspection_client"] is None


def test_an_unknown_or_public_introspecting_client_is_refused(cli_env, make_client, snapshot):
    """RFC 7662 §2.1: only a client that authenticates may introspect."""
    public = make_client(name="CLI", public=True)
    assert create(cli_env, NOTES, "--name", "Notes", "--scope", "a").returncode == 0
    before = snapshot(ignore=())

    unknown = create(cli_env, FILES, "--name", "F", "--scope", "a", "--introspection-client", "x")
    update = ["resources", "update", NOTES, "--introspection-client", public.client_id]
    not_confidential = run(*update, env=cli_env)
    neither = run("resources", "update", NOTES, env=cli_env)

    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "Error: introspection_client: No client 'x'."
    assert not_confidential.returncode == 1
    assert not_confidential.stderr.strip() == (
        f"Error: introspection_client: The client '{public.client_id}' is public; only a "
        "confidential client may introspect tokens."
    )
    assert neither.returncode == 2
    assert "Give one of --introspection-client or --no-introspection-client." in neither.stderr
    assert snapshot(ignore=()) == before


@pytest.mark.parametrize("command", [[], ["create"], ["update"], ["list"], ["delete"]])
def test_help(cli_env, command):
    result = run("resources", *command, "--help", env=cli_env)

    assert result.returncode == 0
    assert "Usage: idp resources" in result.stdout
