"""Accounts and registered clients, made directly in the app's database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask

from idp import db as database
from idp.db import Model
from idp.identity import users
from idp.oauth.clients import ClientSpec, create_client

PASSWORD = "plum-orchard-47-lantern"
REDIRECT_URI = "http://127.0.0.1:9/callback"


@dataclass
class RegisteredClient:
    client_id: str
    client_secret: str | None
    redirect_uri: str = REDIRECT_URI


def make_user(
    app: Flask, email: str = "ada@example.com", password: str = PASSWORD, name: str = "Ada"
) -> int:
    with app.app_context():
        return users.create_user(email, name, password).id


def make_client(app: Flask, **overrides: Any) -> RegisteredClient:
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


def snapshot(
    app: Flask, *, ignore: tuple[str, ...] = ("audit_event",)
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused request stored nothing."""
    with app.app_context():
        return {
            table.name: sorted(
                (tuple(row) for row in database.db.session.execute(table.select())), key=repr
            )
            for table in Model.metadata.sorted_tables
            if table.name not in ignore
        }
