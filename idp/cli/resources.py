"""`idp resources create|update|list|delete`: protected resources (RFC 8707) from the command
line."""

from __future__ import annotations

import json
from typing import Any

import click

from idp.cli.common import app_context, load_settings
from idp.errors import IdpError
from idp.oauth.introspection import introspector
from idp.oauth.resources import (
    Resource,
    create_resource,
    delete_resource,
    find_resource,
    list_resources,
    parse_scope,
    set_introspection_client,
)

INTROSPECTION_HELP = (
    "client_id of a confidential client (the resource server's) that may introspect the "
    "access tokens issued for this resource (RFC 7662)."
)


@click.group()
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
@click.option("--introspection-client", metavar="CLIENT_ID", help=INTROSPECTION_HELP)
def resources_create(
    uri: str,
    name: str,
    scopes: tuple[str, ...],
    access_token_ttl: int | None,
    introspection_client: str | None,
) -> None:
    """Register the resource URI (the `aud` of its access tokens) and print it as JSON."""
    with app_context(load_settings()):
        try:
            resource = create_resource(
                uri,
                name,
                dict(parse_scope(value) for value in scopes),
                access_token_ttl,
                introspection_client=_introspector(introspection_client),
            )
        except IdpError as error:
            raise _failure(error) from None
        click.echo(json.dumps(_resource_json(resource), indent=2))


@resources.command("update")
@click.argument("uri")
@click.option("--introspection-client", metavar="CLIENT_ID", help=INTROSPECTION_HELP)
@click.option(
    "--no-introspection-client",
    is_flag=True,
    help="No client introspects its tokens, but the one each token was issued to.",
)
def resources_update(
    uri: str, introspection_client: str | None, no_introspection_client: bool
) -> None:
    """Change which client may introspect the resource's tokens; print it as JSON."""
    if (introspection_client is None) == (not no_introspection_client):
        raise click.UsageError("Give one of --introspection-client or --no-introspection-client.")
    with app_context(load_settings()):
        resource = find_resource(uri)
        if resource is None:
            raise click.ClickException(f"uri: no resource {uri!r}")
        try:
            set_introspection_client(resource, _introspector(introspection_client))
        except IdpError as error:
            raise _failure(error) from None
        click.echo(json.dumps(_resource_json(resource), indent=2))


@resources.command("list")
def resources_list() -> None:
    """List registered resources as JSON lines."""
    with app_context(load_settings()):
        for resource in list_resources():
            click.echo(json.dumps(_resource_json(resource)))


@resources.command("delete")
@click.argument("uri")
def resources_delete(uri: str) -> None:
    """Delete the resource URI: tokens are no longer issued or refreshed for it."""
    with app_context(load_settings()):
        if not delete_resource(uri):
            raise click.ClickException(f"uri: no resource {uri!r}")
        click.echo(f"Deleted resource {uri}.")


def _introspector(client_id: str | None) -> str | None:
    return None if client_id is None else introspector(client_id)


def _failure(error: IdpError) -> click.ClickException:
    return click.ClickException(f"{error.field or 'resource'}: {error.message}")


def _resource_json(resource: Resource) -> dict[str, Any]:
    return {
        "uri": resource.uri,
        "name": resource.name,
        "scopes": resource.scopes,
        "access_token_ttl": resource.access_token_ttl,
        "introspection_client": resource.introspection_client_id,
        "created_at": resource.created_at.isoformat(),
    }
