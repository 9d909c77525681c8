"""The `idp` command: serve, db upgrade, users create and users list.

Every failure prints one line and exits non-zero; settings come from the environment.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask

from idp import db
from idp.core.audit import Event
from idp.errors import IdpError
from idp.keys import cli as keys_cli
from idp.settings import DEVELOPMENT, Settings, SettingsError


def _settings(**overrides: str) -> Settings:
    try:
        settings = Settings.from_env()
        return settings.replace(**overrides) if overrides else settings
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def _app_context(settings: Settings) -> Iterator[Flask]:
    from idp.app import create_app

    try:
        db.check_connection(settings.database_url)
    except db.DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    app = create_app(settings)
    with app.app_context():
        yield app


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """A self-hosted OAuth 2.1 / OpenID Connect identity provider.

    Settings come from IDP_* environment variables, DATABASE_URL and REDIS_URL.
    """


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Run the development server on embedded defaults (SQLite, no Redis needed).

    The database is created and migrated on start. For production run gunicorn with
    `idp.wsgi:app` (see the README).
    """
    from werkzeug.serving import run_simple

    shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    overrides = {} if _env_has("IDP_ISSUER") else {"issuer": f"http://{shown_host}:{port}"}
    settings = _settings(**overrides)
    if settings.env == DEVELOPMENT:
        click.secho(
            "*** DEVELOPMENT MODE: generated secret, relaxed checks. Do not expose this server. "
            "Set IDP_ENV=production and run gunicorn for real use. ***",
            fg="yellow",
            bold=True,
            err=True,
        )
    if settings.env == DEVELOPMENT or settings.uses_embedded_database:
        try:
            db.upgrade(settings.database_url)
        except db.DatabaseUnavailable as error:
            raise click.ClickException(str(error)) from None
    with _app_context(settings) as app:
        click.echo(
            f"Issuer {settings.issuer} -- database {_safe_url(settings.database_url)}", err=True
        )
    run_simple(host, port, app, threaded=True, use_reloader=False)


@cli.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    settings = _settings()
    try:
        db.upgrade(settings.database_url)
    except db.DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Database is up to date ({_safe_url(settings.database_url)}).")


@cli.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password (asked for when not given).",
)
@click.option("--name", default=None, help="Display name (default: the part before the @).")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
def users_create(email: str, password: str, name: str | None, admin: bool) -> None:
    """Create an account with EMAIL."""
    from idp.identity import users as accounts

    with _app_context(_settings()):
        try:
            user = accounts.create_user(
                email,
                name or email.split("@", 1)[0],
                password,
                is_admin=admin,
                event=Event.USER_CREATED,
            )
        except IdpError as error:
            raise click.ClickException(f"{error.field or 'user'}: {error.message}") from None
        click.echo(f"Created user {user.id} <{user.email}>{' (admin)' if user.is_admin else ''}.")


@users.command("list")
def users_list() -> None:
    """List every account."""
    from idp.identity import users as accounts

    with _app_context(_settings()):
        rows = accounts.list_users()
        if not rows:
            click.echo("No users yet.")
            return
        click.echo(f"{'ID':>5}  {'EMAIL':<40} {'NAME':<30} ADMIN  CREATED")
        for user in rows:
            click.echo(
                f"{user.id:>5}  {user.email:<40} {user.name[:30]:<30} "
                f"{'yes' if user.is_admin else 'no ':<5}  {user.created_at:%Y-%m-%d %H:%M}"
            )


@cli.group()
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
    type=click.Choice(
        [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",  # RFC 8628, for CLIs and TVs
        ]
    ),
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
    from idp.oauth.clients import ClientSpec, create_client

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
    with _app_context(_settings()):
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
    from idp.oauth.clients import list_clients

    with _app_context(_settings()):
        for client in list_clients():
            click.echo(json.dumps(_client_json(client)))


@clients.command("delete")
@click.argument("client_id")
def clients_delete(client_id: str) -> None:
    """Delete a client with all its codes, tokens and consents."""
    from idp.oauth.clients import delete_client

    with _app_context(_settings()):
        if not delete_client(client_id):
            raise click.ClickException(f"client_id: no client {client_id!r}")
        click.echo(f"Deleted client {client_id}.")


@clients.command("prune")
def clients_prune() -> None:
    """Delete dynamically registered clients unused for IDP_DYNAMIC_CLIENT_UNUSED_TTL."""
    from idp.oauth.clients import prune_unused

    settings = _settings()
    with _app_context(settings):
        count = prune_unused(settings.dynamic_client_unused_ttl)
    click.echo(f"Deleted {count} unused dynamically registered client{'s' * (count != 1)}.")


def _client_json(client: Any) -> dict[str, Any]:
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
    }


@cli.group()
def resources() -> None:
    """Manage protected resources (APIs and MCP servers; RFC 8707 resource indicators)."""


@resources.command("create")
@click.argument("uri")
@click.option("--name", required=True, help="Name shown on the consent page.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help='A scope it accepts, optionally with plain words: "notes:read=Read your notes".',
)
@click.option(
    "--access-token-ttl",
    type=click.IntRange(min=1),
    default=None,
    help="Access token lifetime in seconds (default: the client's; capped by "
    "IDP_MAX_TOKEN_LIFETIME).",
)
def resources_create(
    uri: str, name: str, scopes: tuple[str, ...], access_token_ttl: int | None
) -> None:
    """Register the resource URI (the `aud` of its access tokens) and print it as JSON."""
    from idp.oauth.resources import create_resource, parse_scope

    with _app_context(_settings()):
        try:
            resource = create_resource(
                uri, name, dict(parse_scope(value) for value in scopes), access_token_ttl
            )
        except IdpError as error:
            raise click.ClickException(f"{error.field or 'resource'}: {error.message}") from None
        click.echo(json.dumps(_resource_json(resource), indent=2))


@resources.command("list")
def resources_list() -> None:
    """List registered resources as JSON lines."""
    from idp.oauth.resources import list_resources

    with _app_context(_settings()):
        for resource in list_resources():
            click.echo(json.dumps(_resource_json(resource)))


@resources.command("delete")
@click.argument("uri")
def resources_delete(uri: str) -> None:
    """Delete the resource URI: tokens are no longer issued or refreshed for it."""
    from idp.oauth.resources import delete_resource

    with _app_context(_settings()):
        if not delete_resource(uri):
            raise click.ClickException(f"uri: no resource {uri!r}")
        click.echo(f"Deleted resource {uri}.")


def _resource_json(resource: Any) -> dict[str, Any]:
    return {
        "uri": resource.uri,
        "name": resource.name,
        "scopes": resource.scopes,
        "access_token_ttl": resource.access_token_ttl,
        "created_at": resource.created_at.isoformat(),
    }


def _env_has(name: str) -> bool:
    import os

    return bool(os.environ.get(name, "").strip())


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


cli.add_command(keys_cli.keys)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
