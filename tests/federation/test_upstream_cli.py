"""`idp providers add|list|update|remove`: the upstream providers from the command line; the
client secret is sealed at rest and never printed, and every change is audited."""

from __future__ import annotations

import json

from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.upstream.models import UpstreamProvider
from tests.test_cli import cli_env, run  # noqa: F401 (the fixture)

SECRET = "GOCSPX-not-a-real-secret"


def test_add_list_update_remove(cli_env, app):  # noqa: F811
    added = run(
        "providers", "add", "google", "--name", "Google", "--kind", "google",
        "--client-id", "123.apps.googleusercontent.com", "--client-secret", SECRET,
        "--trusted-for-linking",
        env=cli_env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    assert shown["slug"] == "google" and shown["trusted_for_linking"] is True
    assert SECRET not in added.stdout

    listed = run("providers", "list", env=cli_env)
    assert [json.loads(line)["slug"] for line in listed.stdout.splitlines()] == ["google"]

    updated = run("providers", "update", "google", "--disabled", "--name-claim", "nickname",
                  env=cli_env)  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout)["enabled"] is False
    with app.app_context():
        provider = db.session.scalar(select(UpstreamProvider))
        assert provider is not None and SECRET not in provider.sealed_client_secret
        assert provider.attribute_mapping == {"name": "nickname"}

    removed = run("providers", "remove", "google", env=cli_env)
    assert removed.returncode == 0 and "Removed provider google." in removed.stdout
    with app.app_context():
        events = [e.event for e in db.session.scalars(select(AuditEvent))]
    assert events == [
        "upstream_provider_created",
        "upstream_provider_updated",
        "upstream_provider_deleted",
    ]


def test_add_refuses_bad_input_in_one_line(cli_env, snapshot):  # noqa: F811
    before = snapshot()
    result = run(
        "providers", "add", "Bad Slug", "--name", "X", "--kind", "oidc",
        "--client-id", "x", "--client-secret", "y", "--issuer", "https://op.example",
        env=cli_env,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: slug: The slug is 1 to 64 lowercase letters, digits and dashes."
    )
    no_issuer = run(
        "providers", "add", "corp", "--name", "Corp", "--kind", "oidc",
        "--client-id", "x", "--client-secret", "y",
        env=cli_env,
    )  # fmt: skip
    assert (
        no_issuer.stderr.strip()
        == "Error: issuer: An OpenID Connect provider needs its issuer URL."
    )
    assert snapshot(ignore=()) == before | {"audit_event": []}
