"""The client store: register, find, list and delete clients.

A confidential client's secret is shown once at creation and stored as its SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.db import db
from idp.errors import InvalidInput
from idp.oauth.models import Client
from idp.oauth.redirects import problem_with
from idp.oauth.scopes import SUPPORTED_SCOPES

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")


@dataclass
class ClientSpec:
    """What a client registration asks for, before validation."""

    name: str
    redirect_uris: list[str]
    public: bool = False
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code", "refresh_token"])
    scopes: list[str] = field(default_factory=lambda: list(SUPPORTED_SCOPES))
    auth_method: str | None = None
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    first_party: bool = False
    logo_uri: str | None = None
    client_uri: str | None = None


def create_client(spec: ClientSpec, *, dynamic: bool = False) -> tuple[Client, str | None]:
    """Validate and store a client; returns it with its secret (None for public clients)."""
    name = " ".join(spec.name.split())
    if not name:
        raise InvalidInput("A client needs a name.", field="client_name")
    for uri in [*spec.redirect_uris, *spec.post_logout_redirect_uris]:
        problem = problem_with(uri)
        if problem:
            raise InvalidInput(f"Redirect URI {uri!r} {problem}.", field="redirect_uris")
    unknown = [g for g in spec.grant_types if g not in GRANT_TYPES]
    if unknown:
        raise InvalidInput(f"Unsupported grant type: {', '.join(unknown)}.", field="grant_types")
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        raise InvalidInput(
            "The authorization_code grant needs a redirect URI.", field="redirect_uris"
        )
    unknown = [s for s in spec.scopes if s not in SUPPORTED_SCOPES]
    if unknown:
        raise InvalidInput(f"Unsupported scope: {', '.join(unknown)}.", field="scope")
    method = spec.auth_method or ("none" if spec.public else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise InvalidInput(f"Unsupported authentication method: {method}.", field="auth_method")
    if method == "none" and "client_credentials" in spec.grant_types:
        raise InvalidInput("A public client cannot use client_credentials.", field="grant_types")
    secret = None if method in {"none", "private_key_jwt"} else new_token(32)
    client = Client(
        client_id=new_token(16),
        secret_hash=digest(secret) if secret else None,
        name=name,
        redirect_uris=list(spec.redirect_uris),
        post_logout_redirect_uris=list(spec.post_logout_redirect_uris),
        grant_types=list(dict.fromkeys(spec.grant_types)),
        scope=" ".join(dict.fromkeys(spec.scopes)),
        auth_method=method,
        first_party=spec.first_party,
        dynamic=dynamic,
        logo_uri=spec.logo_uri,
        client_uri=spec.client_uri,
    )
    db.session.add(client)
    db.session.flush()
    record(Event.CLIENT_CREATED, subject=client.client_id, name=name, dynamic=dynamic)
    db.session.commit()
    return client, secret


def find_client(client_id: str) -> Client | None:
    return db.session.scalar(select(Client).where(Client.client_id == client_id))


def list_clients() -> list[Client]:
    return list(db.session.scalars(select(Client).order_by(Client.created_at)))


def delete_client(client_id: str) -> bool:
    client = find_client(client_id)
    if client is None:
        return False
    db.session.delete(client)
    record(Event.CLIENT_DELETED, subject=client_id)
    db.session.commit()
    return True
