"""`idp providers add|list|update|remove`: the upstream providers people can sign in with
("Continue with Google"), as JSON. The client secret is sealed at rest and never printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from idp.cli.common import app_context, load_settings
from idp.errors import IdpError
from idp.federation.upstream.models import UpstreamProvider
from idp.federation.upstream.presets import KINDS
from idp.federation.upstream.providers import (
    ProviderSpec,
    create_provider,
    delete_provider,
    find_provider,
    list_providers,
    update_provider,
)


@click.group()
def providers() -> None:
    """Manage upstream sign-in providers (Google, Microsoft, GitLab, GitHub, any OIDC)."""


Command = TypeVar("Command", bound=Callable[..., Any])


def _options(adding: bool) -> Callable[[Command], Command]:
    def wrap(command: Command) -> Command:
        options = [
            click.option("--name", "display_name", required=adding, help="Shown on buttons."),
            click.option("--kind", type=click.Choice(KINDS), required=adding, help="Preset."),
            click.option(
                "--issuer",
                help="Issuer or discovery URL (oidc); base URL (GitLab, GitHub Enterprise); "
                "tenant (Microsoft). Default: the preset's.",
            ),
            click.option("--client-id", help="The client ID registered at the provider."),
            click.option(
                "--client-secret",
                help="Its secret (asked for when not given on add; kept when not given on update).",
            ),
            click.option("--scope", "scopes", multiple=True, help="Scope (default: the preset's)."),
            click.option(
                "--trusted-for-linking/--not-trusted-for-linking",
                default=None,
                help="Link a verified email to the account that has it.",
            ),
            click.option(
                "--keep-tokens/--no-keep-tokens", default=None, help="Keep tokens, sealed."
            ),
            click.option("--enabled/--disabled", default=None, help="Show it on the sign-in page."),
            click.option("--name-claim", help="The claim that gives the person's name."),
        ]
        wrapped: Any = command
        for option in reversed(options):
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return wrap


@providers.command("add")
@click.argument("slug")
@_options(adding=True)
def providers_add(slug: str, **given: Any) -> None:
    """Add a provider; SLUG names it in URLs (/sign-in/with/SLUG) and never changes."""
    if not given["client_id"]:
        raise click.ClickException("client_id: --client-id is required")
    if not given["client_secret"]:
        given["client_secret"] = click.prompt("Client secret", hide_input=True)
    spec = ProviderSpec(slug=slug, display_name="", kind="", client_id="")
    _fill(spec, given)
    settings = load_settings()
    with app_context(settings):
        try:
            provider = create_provider(spec, settings)
        except IdpError as error:
            raise click.ClickException(f"{error.field or 'provider'}: {error.message}") from None
        click.echo(json.dumps(_json(provider), indent=2))


@providers.command("update")
@click.argument("slug")
@_options(adding=False)
def providers_update(slug: str, **given: Any) -> None:
    """Change a provider; options not given keep their values."""
    settings = load_settings()
    with app_context(settings):
        provider = _found(slug)
        spec = ProviderSpec(
            slug=slug,
            display_name=provider.display_name,
            kind=provider.kind,
            client_id=provider.client_id,
            issuer=provider.issuer,
            scopes=list(provider.scopes),
            trusted_for_linking=provider.trusted_for_linking,
            keep_tokens=provider.keep_tokens,
            enabled=provider.enabled,
            attribute_mapping=dict(provider.attribute_mapping or {}),
        )
        _fill(spec, given)
        try:
            update_provider(provider, spec, settings)
        except IdpError as error:
            raise click.ClickException(f"{error.field or 'provider'}: {error.message}") from None
        click.echo(json.dumps(_json(provider), indent=2))


@providers.command("list")
def providers_list() -> None:
    """List providers as JSON lines."""
    with app_context(load_settings()):
        for provider in list_providers():
            click.echo(json.dumps(_json(provider)))


@providers.command("remove")
@click.argument("slug")
def providers_remove(slug: str) -> None:
    """Remove a provider (accounts keep their links; adding SLUG again restores them)."""
    with app_context(load_settings()):
        delete_provider(_found(slug))
        click.echo(f"Removed provider {slug}.")


def _fill(spec: ProviderSpec, given: dict[str, Any]) -> None:
    for name in ("display_name", "kind", "issuer", "client_id", "client_secret"):
        if given.get(name) is not None:
            setattr(spec, name, given[name])
    if given.get("scopes"):
        spec.scopes = list(given["scopes"])
    for name in ("trusted_for_linking", "keep_tokens", "enabled"):
        if given.get(name) is not None:
            setattr(spec, name, bool(given[name]))
    if given.get("name_claim"):
        spec.attribute_mapping = {**spec.attribute_mapping, "name": given["name_claim"]}


def _found(slug: str) -> UpstreamProvider:
    provider = find_provider(slug)
    if provider is None:
        raise click.ClickException(f"slug: no provider {slug!r}")
    return provider


def _json(provider: UpstreamProvider) -> dict[str, Any]:
    return {
        "slug": provider.slug,
        "name": provider.display_name,
        "kind": provider.kind,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "scopes": provider.scopes,
        "trusted_for_linking": provider.trusted_for_linking,
        "keep_tokens": provider.keep_tokens,
        "enabled": provider.enabled,
        "attribute_mapping": provider.attribute_mapping,
    }
