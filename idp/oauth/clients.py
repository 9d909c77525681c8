"""The client store: register, find, list, update, disable and delete clients.

A confidential client's secret is shown once at creation (or rotation) and stored as its
SHA-256; so is the registration access token of a dynamically registered client (RFC 7592).
A disabled client is unknown to every endpoint (idp.oauth.server) and the tokens it held are
revoked; enabling it again lets it get new ones. `admin` is who acted on the admin page or
the management API, kept in the audit row (None: the CLI or the client itself).

The protocol endpoints look clients up through `cached_client`: a detached copy kept in this
process (read it, never change it) until the `clients` change counter moves
(idp.core.generations). That counter is bumped by `watch(Client, ...)` below, in the same
transaction as any ORM change to a client row: every function here, the admin pages, the
command line, dynamic registration management, in any process, and anything added later that
changes a `Client` through the session, including bulk `update(Client)`/`delete(Client)`.
Nothing needs to remember to invalidate; only `mark_used`, which writes a column no cache
reads, opts out. `mark_used` writes at most once per `MARK_USED_EVERY` per client and process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from idp.core import generations
from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.db import db, utcnow
from idp.errors import InvalidInput
from idp.identity.models import User
from idp.oauth.client_auth import AUTH_METHODS, SECRET_METHODS
from idp.oauth.limits import MAX_LIFETIME, MAX_NAME_LENGTH, MAX_URI_LENGTH, oversized_metadata
from idp.oauth.models import Client, TokenFamily
from idp.oauth.redirects import problem_with
from idp.oauth.resources import valid_scopes
from idp.oauth.scopes import SUPPORTED_SCOPES

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", DEVICE_CODE)
MARK_USED_EVERY = timedelta(hours=1)

generations.watch(Client, "clients")
_clients: generations.Cache[Client | None] = generations.Cache("clients")
_generation = generations.in_session("clients")
_marked: dict[str, datetime] = {}  # client_id -> when this process last wrote last_used_at


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
    jwks: dict[str, Any] | None = None
    # Lifetimes in seconds; access and ID tokens are also capped by IDP_MAX_TOKEN_LIFETIME.
    access_token_ttl: int = 3600
    id_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 86400


def new_client_id() -> str:
    """16 random bytes, URL-safe, never starting with "-" or "_": a client_id that starts
    with "-" would be read as an option by `idp clients delete CLIENT_ID`."""
    while True:
        client_id = new_token(16)
        if client_id[0].isalnum():
            return client_id


def create_client(
    spec: ClientSpec,
    *,
    dynamic: bool = False,
    registration_token: str | None = None,
    admin: User | None = None,
) -> tuple[Client, str | None]:
    """Validate and store a client; returns it with its secret (None for public clients)."""
    name, method = _checked(spec)
    secret = new_token(32) if method in SECRET_METHODS else None
    client = Client(
        client_id=new_client_id(),
        secret_hash=digest(secret) if secret else None,
        registration_token_hash=digest(registration_token) if registration_token else None,
        first_party=spec.first_party,
        dynamic=dynamic,
    )
    _apply(client, spec, name, method)
    db.session.add(client)
    db.session.flush()
    record(Event.CLIENT_CREATED, subject=client.client_id, name=name, dynamic=dynamic, **by(admin))
    db.session.commit()
    return client, secret


def put_client(client_id: str, spec: ClientSpec) -> Client:
    """Create or refresh a public client whose id is chosen elsewhere: the URL of its metadata
    document (idp.oauth.metadata_documents). Changes are recorded only when there are some."""
    name, method = _checked(spec)
    if method in SECRET_METHODS:
        raise InvalidInput("A client described by a document cannot use a secret.", field="auth")
    client = find_client(client_id)
    if client is None:
        client = Client(client_id=client_id, first_party=False, dynamic=False)
        _apply(client, spec, name, method)
        db.session.add(client)
        try:
            db.session.flush()
        except IntegrityError:  # another process saved it first
            db.session.rollback()
            return put_client(client_id, spec)
        record(Event.CLIENT_CREATED, subject=client_id, name=name, dynamic=False)
        db.session.commit()
        return client
    _apply(client, spec, name, method)
    if db.session.is_modified(client):
        record(Event.CLIENT_UPDATED, subject=client_id, name=name, dynamic=False)
        db.session.commit()
    return client


def update_client(client: Client, spec: ClientSpec, *, admin: User | None = None) -> str | None:
    """Replace a client's metadata (RFC 7592 §2.2); returns a new secret if it now needs one.

    The secret is kept while the client stays confidential and dropped when it becomes public.
    """
    name, method = _checked(spec)
    secret = None
    if method not in SECRET_METHODS:
        client.secret_hash = None
    elif client.secret_hash is None:
        secret = new_token(32)
        client.secret_hash = digest(secret)
    _apply(client, spec, name, method)
    record(
        Event.CLIENT_UPDATED,
        subject=client.client_id,
        name=name,
        dynamic=client.dynamic,
        **by(admin),
    )
    db.session.commit()
    return secret


def rotate_secret(client: Client, *, admin: User | None = None) -> str:
    """A new secret for a confidential client, shown once; the old one stops working now."""
    if client.auth_method not in SECRET_METHODS:
        raise InvalidInput(
            f"The client {client.client_id} authenticates with {client.auth_method}, not a secret.",
            field="client_id",
        )
    secret = new_token(32)
    client.secret_hash = digest(secret)
    record(Event.CLIENT_SECRET_ROTATED, subject=client.client_id, **by(admin))
    db.session.commit()
    return secret


def set_disabled(client: Client, disabled: bool, *, admin: User | None = None) -> bool:
    """Disable or enable a client; returns whether that changed anything. Disabling revokes
    every token family it holds, so its access tokens introspect inactive and its refresh
    tokens are refused."""
    if (client.disabled_at is not None) == disabled:
        return False
    now = utcnow()
    client.disabled_at = now if disabled else None
    if disabled:
        client.revoked_before = now
        db.session.execute(
            update(TokenFamily)
            .where(TokenFamily.client_id == client.id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    event = Event.CLIENT_DISABLED if disabled else Event.CLIENT_ENABLED
    record(event, subject=client.client_id, **by(admin))
    db.session.commit()
    return True


def by(admin: User | None) -> dict[str, Any]:
    """Who changed a client, for the audit row: the admin (kept by email should the account
    go), or nobody."""
    return {} if admin is None else {"user_id": admin.id, "admin": admin.email}


def _apply(client: Client, spec: ClientSpec, name: str, method: str) -> None:
    client.name = name
    client.redirect_uris = list(spec.redirect_uris)
    client.post_logout_redirect_uris = list(spec.post_logout_redirect_uris)
    client.grant_types = list(dict.fromkeys(spec.grant_types))
    client.scope = " ".join(dict.fromkeys(spec.scopes))
    client.auth_method = method
    client.logo_uri = spec.logo_uri
    client.client_uri = spec.client_uri
    client.jwks = spec.jwks
    client.access_token_ttl = spec.access_token_ttl
    client.id_token_ttl = spec.id_token_ttl
    client.refresh_token_ttl = spec.refresh_token_ttl


def _checked(spec: ClientSpec) -> tuple[str, str]:
    """The client's display name and authentication method, or InvalidInput saying what's wrong."""
    oversized = oversized_metadata(
        {
            "scope": " ".join(spec.scopes),
            "redirect_uris": spec.redirect_uris,
            "post_logout_redirect_uris": spec.post_logout_redirect_uris,
            "grant_types": spec.grant_types,
            "jwks": spec.jwks,
        }
    )
    if oversized:
        raise InvalidInput(oversized)
    name = " ".join(spec.name.split())
    if not name:
        raise InvalidInput("A client needs a name.", field="client_name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"A client name has at most {MAX_NAME_LENGTH} characters.", field="client_name"
        )
    for key, label, uris in (
        ("redirect_uris", "Redirect URI", spec.redirect_uris),
        ("post_logout_redirect_uris", "Post-logout redirect URI", spec.post_logout_redirect_uris),
    ):
        for uri in uris:
            problem = "is too long" if len(uri) > MAX_URI_LENGTH else problem_with(uri)
            if problem:
                raise InvalidInput(f"{label} {uri!r} {problem}.", field=key)
    for key, page in (("logo_uri", spec.logo_uri), ("client_uri", spec.client_uri)):
        if page is not None and not _is_web_page(page):
            raise InvalidInput(f"{key} must be an https URL.", field=key)
    unknown = [g for g in spec.grant_types if g not in GRANT_TYPES]
    if unknown:
        raise InvalidInput(f"Unsupported grant type: {', '.join(unknown)}.", field="grant_types")
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        raise InvalidInput(
            "The authorization_code grant needs a redirect URI.", field="redirect_uris"
        )
    valid = valid_scopes()
    unknown = [s for s in spec.scopes if s not in valid]
    if unknown:
        raise InvalidInput(f"Unsupported scope: {', '.join(unknown)}.", field="scope")
    method = spec.auth_method or ("none" if spec.public else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise InvalidInput(f"Unsupported authentication method: {method}.", field="auth_method")
    if method == "none" and "client_credentials" in spec.grant_types:
        raise InvalidInput("A public client cannot use client_credentials.", field="grant_types")
    for key in ("access_token_ttl", "id_token_ttl", "refresh_token_ttl"):
        if not 1 <= getattr(spec, key) <= MAX_LIFETIME:
            raise InvalidInput(f"{key} must be 1 to {MAX_LIFETIME} seconds.", field=key)
    if method == "private_key_jwt" and not spec.jwks:
        raise InvalidInput("private_key_jwt needs the client's public keys.", field="jwks")
    return name, method


def _is_web_page(uri: str) -> bool:
    """An https URL we may show as a link or image: no spaces, no userinfo to disguise the host."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return (
        len(uri) <= MAX_URI_LENGTH
        and parts.scheme == "https"
        and bool(parts.hostname)
        and "@" not in parts.netloc
        and not any(ch.isspace() for ch in uri)
    )


def find_client(client_id: str) -> Client | None:
    return db.session.scalar(select(Client).where(Client.client_id == client_id))


def list_clients() -> list[Client]:
    return list(db.session.scalars(select(Client).order_by(Client.created_at)))


def prune_unused(unused_for: int) -> int:
    """Delete dynamically registered clients unused at the token endpoint for `unused_for`
    seconds (never used: since registering); returns how many went."""
    cutoff = utcnow() - timedelta(seconds=unused_for)
    stale = list(
        db.session.scalars(
            select(Client.client_id).where(
                Client.dynamic.is_(True),
                func.coalesce(Client.last_used_at, Client.created_at) < cutoff,
            )
        )
    )
    if not stale:
        return 0
    db.session.execute(delete(Client).where(Client.client_id.in_(stale)))
    for client_id in stale:
        record(Event.CLIENT_DELETED, subject=client_id, reason="unused")
    db.session.commit()
    return len(stale)


def cached_client(client_id: str) -> Client | None:
    """`find_client` for the protocol endpoints, from this process's cache (see above)."""
    return _clients.get(client_id, lambda: _detached(client_id), _generation)


def _detached(client_id: str) -> Client | None:
    client = find_client(client_id)
    if client is not None:
        db.session.expunge(client)
    return client


def mark_used(client: Client) -> None:
    """Note that a client used the token endpoint (keeps a dynamic client from expiring):
    at most once per MARK_USED_EVERY, far below IDP_DYNAMIC_CLIENT_UNUSED_TTL."""
    now = utcnow()
    last = _marked.get(client.client_id)
    if last is not None and now - last < MARK_USED_EVERY:
        return
    _marked[client.client_id] = now
    db.session.execute(
        update(Client).where(Client.id == client.id).values(last_used_at=now),
        execution_options={generations.NEUTRAL: True},
    )
    db.session.commit()


def delete_client(client_id: str, *, admin: User | None = None) -> bool:
    client = find_client(client_id)
    if client is None:
        return False
    db.session.delete(client)
    record(Event.CLIENT_DELETED, subject=client_id, **by(admin))
    db.session.commit()
    return True
