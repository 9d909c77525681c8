"""`idp saml-sps add|list|remove`: the service providers of the SAML identity provider.

An SP is added from its metadata, a file or an http(s) URL; the options choose what it gets
(NameID format, attributes) and whether sign-ins may start here. Each change is audited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from idp.cli.common import app_context, load_settings
from idp.errors import IdpError
from idp.federation.saml_idp import registry
from idp.federation.saml_idp.attributes import ATTRIBUTES
from idp.federation.saml_idp.models import SamlServiceProvider


@click.group("saml-sps")
def saml_sps() -> None:
    """Manage the SAML service providers that sign people in here."""


@saml_sps.command("add")
@click.option("--metadata", "source", required=True, help="The SP's metadata: a file or a URL.")
@click.option("--name", default="", help="Name shown in the console. Default: the metadata's.")
@click.option(
    "--name-id-format",
    type=click.Choice(["email", "persistent"]),
    default="email",
    help="email: the email address; persistent: an opaque value per person and SP.",
)
@click.option(
    "--attribute",
    "attributes",
    multiple=True,
    type=click.Choice(ATTRIBUTES),
    help="An attribute to release (repeat). Default: email and name.",
)
@click.option("--idp-initiated", is_flag=True, help="Allow sign-ins started here.")
def add(
    source: str, name: str, name_id_format: str, attributes: tuple[str, ...], idp_initiated: bool
) -> None:
    """Register a service provider from its metadata and print it as JSON."""
    choices = registry.Choices(
        name=name,
        name_id_format=name_id_format,
        attributes=list(attributes) or ["email", "name"],
        allow_idp_initiated=idp_initiated,
    )
    with app_context(load_settings()):
        try:
            xml, url = _metadata(source)
            provider = registry.register(xml, choices, url=url)
        except IdpError as error:
            raise click.ClickException(error.message) from None
        click.echo(json.dumps(_json(provider), indent=2))


@saml_sps.command("list")
def list_sps() -> None:
    """List the service providers as JSON lines."""
    with app_context(load_settings()):
        for provider in registry.listed():
            click.echo(json.dumps(_json(provider)))


@saml_sps.command("remove")
@click.argument("entity_id")
def remove(entity_id: str) -> None:
    """Remove the service provider with this entity ID."""
    with app_context(load_settings()):
        provider = registry.find(entity_id)
        if provider is None:
            raise click.ClickException(f"No service provider has entity ID {entity_id}.")
        registry.delete(provider)
        click.echo(f"Removed {entity_id}.")


def _metadata(source: str) -> tuple[bytes, str | None]:
    if source.startswith(("http://", "https://")):
        return registry.metadata_from(source)
    path = Path(source)
    if not path.is_file():
        raise IdpError(f"No metadata file at {source}.")
    return path.read_bytes(), None


def _json(provider: SamlServiceProvider) -> dict[str, Any]:
    return {
        "entity_id": provider.entity_id,
        "name": provider.name,
        "name_id_format": provider.name_id_format,
        "attributes": provider.attributes,
        "acs": [e["location"] for e in provider.acs_endpoints],
        "slo": provider.slo_url,
        "signed_requests": provider.authn_requests_signed,
        "idp_initiated": provider.allow_idp_initiated,
        "enabled": provider.enabled,
    }
