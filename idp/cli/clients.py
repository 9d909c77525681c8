"""`idp clients create|list|rotate-secret|disable|enable|delete|prune|restrict`: OAuth clients,
as JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from idp.cli.common import app_context, load_settings
from idp.errors import IdpError
from idp.oauth import organizations
from idp.oauth.clients import (
    ClientSpec,
    create_client,
    delete_client,
    find_client,
    list_clients,
    prune_unused,
    rotate_secret,
    set_disabled,
)
from idp.oauth.models import Client

GRANT_TYPES = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",  # RFC 8628, for CLIs and TVs
]


@click.group()
def clients() -> None:
    """Manage OAuth clients (apps that sign their users in here)."""


@clients.command("create")
@click.option("--name", required=True, help="Name shown on the consent page.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Registered redirect URI.")
@click.option("--public", is_flag=True, help="No secret: a native or browser app using PKCE.")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    type=click.Choice(GRANT_TYPES),
    help="Grant type (default: authorization_code and refresh_token).",
)
@click.option("--scope", "scopes", multiple=True, help="Allowed scope (default: all supported).")
@click.option(
    "--post-logout-redirect-uri",
    "logout_uris",
    multiple=True,
    help="Where RP-initiated logout may return.",
)
@click.option("--first-party", is_flag=True, help="Trusted: its users are not asked to consent.")
@click.option(
    "--access-token-ttl",
    type=int,
    default=3600,
    show_default=True,
    help="Access token lifetime in seconds (capped by IDP_MAX_TOKEN_LIFETIME).",
)
@click.option(
    "--id-token-ttl",
    type=int,
    default=3600,
    show_default=True,
    help="ID token lifetime in seconds (capped by IDP_MAX_TOKEN_LIFETIME).",
)
@click.option(
    "--refresh-token-ttl",
    type=int,
    default=30 * 86400,
    show_default=True,
    help="Refresh token lifetime in seconds.",
)
def clients_create(
    name: str,
    redirect_uris: tuple[str, ...],
    public: bool,
    grants: tuple[str, ...],
    scopes: tuple[str, ...],
    logout_uris: tuple[str, ...],
    first_party: bool,
    access_token_ttl: int,
    id_token_ttl: int,
    refresh_token_ttl: int,
) -> None:
    """Register a client and print it as JSON (the secret is shown only now)."""
    spec = ClientSpec(
        name=name,
        redirect_uris=list(redirect_uris),
        public=public,
        post_logout_redirect_uris=list(logout_uris),
        first_party=first_party,
        access_token_ttl=access_token_ttl,
        id_token_ttl=id_token_ttl,
        refresh_token_ttl=refresh_token_ttl,
    )
    if grants:
        spec.grant_types = list(grants)
    if scopes:
        spec.scopes = list(scopes)
    with app_context(load_settings()):
        try:
            client, secret = create_client(spec)
        except IdpError as error:
            raise click.ClickException(f"{error.field or 'client'}: {error.message}") from None
        body = _client_json(client)
        if secret:
            body["client_secret"] = secret
        click.echo(json.dumps(body, indent=2))


@clients.command("list")
def clients_list() -> None:
    """List registered clients as JSON lines."""
    with app_context(load_settings()):
        for client in list_clients():
            click.echo(json.dumps(_client_json(client)))


@clients.command("rotate-secret")
@click.argument("client_id")
def clients_rotate_secret(client_id: str) -> None:
    """Give a confidential client a new secret (printed once); the old one stops working."""
    with app_context(load_settings()):
        client = _found(client_id)
        try:
            secret = rotate_secret(client)
        except IdpError as error:
            raise click.ClickException(f"client_id: {error.message}") from None
        click.echo(json.dumps({"client_id": client_id, "client_secret": secret}, indent=2))


@clients.command("disable")
@click.argument("client_id")
def clients_disable(client_id: str) -> None:
    """Refuse a client everywhere and revoke the tokens it holds."""
    with app_context(load_settings()):
        set_disabled(_found(client_id), True)
        click.echo(f"Disabled client {client_id}.")


@clients.command("enable")
@click.argument("client_id")
def clients_enable(client_id: str) -> None:
    """Let a disabled client get tokens again."""
    with app_context(load_settings()):
        set_disabled(_found(client_id), False)
        click.echo(f"Enabled client {client_id}.")


def _found(client_id: str) -> Client:
    client = find_client(client_id)
    if client is None:
        raise click.ClickException(f"client_id: no client {client_id!r}")
    return client


@clients.command("delete")
@click.argument("client_id")
def clients_delete(client_id: str) -> None:
    """Delete a client with all its codes, tokens and consents."""
    with app_context(load_settings()):
        if not delete_client(client_id):
            raise click.ClickException(f"client_id: no client {client_id!r}")
        click.echo(f"Deleted client {client_id}.")


@clients.command("restrict")
@click.argument("client_id")
@click.option("--organization", "slugs", multiple=True, help="Slug of an allowed organization.")
def clients_restrict(client_id: str, slugs: tuple[str, ...]) -> None:
    """Keep a client for members of these organizations (none given: open to everyone)."""
    with app_context(load_settings()):
        client = find_client(client_id)
        if client is None:
            raise click.ClickException(f"client_id: no client {client_id!r}")
        try:
            organizations.restrict(client, list(slugs))
        except IdpError as error:
            raise click.ClickException(error.message) from None
    click.echo(f"{client_id}: " + (", ".join(slugs) if slugs else "open to everyone") + ".")


@clients.command("prune")
def clients_prune() -> None:
    """Delete dynamically registered clients unused for IDP_DYNAMIC_CLIENT_UNUSED_TTL."""
    settings = load_settings()
    with app_context(settings):
        count = prune_unused(settings.dynamic_client_unused_ttl)
    click.echo(f"Deleted {count} unused dynamically registered client{'s' * (count != 1)}.")


def _client_json(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "scope": client.scope,
        "token_endpoint_auth_method": client.auth_method,
        "first_party": client.first_party,
        "access_token_ttl": client.access_token_ttl,
        "id_token_ttl": client.id_token_ttl,
        "refresh_token_ttl": client.refresh_token_ttl,
        "disabled": client.disabled_at is not None,
    }
