"""Configuring upstream providers: create, update, delete, list; and the client for one.

Used by `idp providers`, the admin console and the sign-in flow. The client secret is sealed
(idp.keys.sealing, its own `info`, labelled with the slug) and opened only to build a client.
Every change is audited, with the admin who made it when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import InvalidInput
from idp.federation.upstream.models import UpstreamProvider
from idp.federation.upstream.oidc import RelyingPartyConfig
from idp.federation.upstream.presets import Upstream, preset
from idp.federation.upstream.transport import Transport
from idp.identity.models import User
from idp.keys.sealing import Sealer
from idp.settings import Settings

SECRET_INFO = b"idp upstream client secrets v1"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAPPABLE = ("name", "email")


@dataclass
class ProviderSpec:
    """What the operator gives; `client_secret` None on update keeps the sealed one."""

    slug: str
    display_name: str
    kind: str
    client_id: str
    client_secret: str | None = None
    issuer: str | None = None
    scopes: list[str] = field(default_factory=list)
    trusted_for_linking: bool = False
    keep_tokens: bool = False
    enabled: bool = True
    attribute_mapping: dict[str, Any] = field(default_factory=dict)


def sealer(settings: Settings) -> Sealer:
    return Sealer(settings.secret_key, info=SECRET_INFO)


def list_providers(*, enabled_only: bool = False) -> list[UpstreamProvider]:
    query = select(UpstreamProvider).order_by(UpstreamProvider.display_name)
    if enabled_only:
        query = query.where(UpstreamProvider.enabled.is_(True))
    return list(db.session.scalars(query))


def find_provider(slug: str) -> UpstreamProvider | None:
    return db.session.scalar(select(UpstreamProvider).where(UpstreamProvider.slug == slug))


def create_provider(
    spec: ProviderSpec, settings: Settings, *, admin: User | None = None
) -> UpstreamProvider:
    """Add a provider; `InvalidInput` names the field that is wrong."""
    check_spec(spec, settings, creating=True)
    assert spec.client_secret is not None
    provider = UpstreamProvider(slug=spec.slug, sealed_client_secret="")
    _apply(provider, spec, settings)
    db.session.add(provider)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput("Another provider already has this slug.", field="slug") from None
    _audit(Event.UPSTREAM_PROVIDER_CREATED, provider, admin)
    db.session.commit()
    return provider


def update_provider(
    provider: UpstreamProvider, spec: ProviderSpec, settings: Settings, *, admin: User | None = None
) -> None:
    """Change a provider (its slug stays); an empty secret keeps the one it has."""
    spec.slug = provider.slug
    check_spec(spec, settings, creating=False)
    _apply(provider, spec, settings)
    _audit(Event.UPSTREAM_PROVIDER_UPDATED, provider, admin)
    db.session.commit()


def delete_provider(provider: UpstreamProvider, *, admin: User | None = None) -> None:
    """Remove a provider. Accounts keep their links: adding the slug again restores them."""
    _audit(Event.UPSTREAM_PROVIDER_DELETED, provider, admin)
    db.session.delete(provider)
    db.session.commit()


def check_spec(spec: ProviderSpec, settings: Settings, *, creating: bool) -> None:
    if not SLUG.match(spec.slug):
        raise InvalidInput(
            "The slug is 1 to 64 lowercase letters, digits and dashes.", field="slug"
        )
    if not spec.display_name.strip() or len(spec.display_name.strip()) > 100:
        raise InvalidInput("The display name is 1 to 100 characters.", field="display_name")
    kind = preset(spec.kind)
    if not spec.client_id.strip() or len(spec.client_id) > 255:
        raise InvalidInput("The client ID is 1 to 255 characters.", field="client_id")
    if creating and not (spec.client_secret or "").strip():
        raise InvalidInput("The client secret is required.", field="client_secret")
    _check_url(kind.issuer(spec.issuer), settings)
    scopes = spec.scopes or list(kind.default_scopes)
    if kind.kind != "github" and "openid" not in scopes:
        raise InvalidInput("OpenID Connect providers need the openid scope.", field="scopes")
    unknown = set(spec.attribute_mapping) - set(MAPPABLE)
    if unknown or not all(isinstance(v, str) for v in spec.attribute_mapping.values()):
        raise InvalidInput(
            "The attribute mapping maps name or email to a claim name.", field="attribute_mapping"
        )


def _check_url(url: str, settings: Settings) -> None:
    parts = urlsplit(url)
    https = parts.scheme == "https" or (settings.is_development and parts.scheme == "http")
    if not https or not parts.hostname or "#" in url or len(url) > 500:
        raise InvalidInput(
            "The issuer must be an https URL (http only in development).", field="issuer"
        )


def _apply(provider: UpstreamProvider, spec: ProviderSpec, settings: Settings) -> None:
    provider.display_name = spec.display_name.strip()
    provider.kind = spec.kind
    provider.issuer = (spec.issuer or "").strip() or None
    provider.client_id = spec.client_id.strip()
    if spec.client_secret:
        provider.sealed_client_secret = sealer(settings).seal(
            spec.client_secret.encode(), label=provider.slug
        )
    provider.scopes = list(spec.scopes)
    provider.trusted_for_linking = spec.trusted_for_linking
    provider.keep_tokens = spec.keep_tokens
    provider.enabled = spec.enabled
    provider.attribute_mapping = dict(spec.attribute_mapping)


def _audit(event: Event, provider: UpstreamProvider, admin: User | None) -> None:
    detail: dict[str, Any] = {"source": provider.slug, "kind": provider.kind}
    if admin is not None:
        detail["admin"] = admin.email
    record(event, user_id=admin.id if admin else None, subject=provider.slug, **detail)


def config_for(provider: UpstreamProvider, settings: Settings) -> RelyingPartyConfig:
    kind = preset(provider.kind)
    secret = sealer(settings).open(provider.sealed_client_secret, label=provider.slug)
    mapping = provider.attribute_mapping or {}
    return RelyingPartyConfig(
        source=provider.slug,
        issuer=kind.issuer(provider.issuer),
        client_id=provider.client_id,
        client_secret=secret.decode(),
        scopes=tuple(provider.scopes or kind.default_scopes),
        tenant_issuer=kind.tenant_issuer,
        auth_method=kind.auth_method,
        name_claim=str(mapping.get("name", "name")),
        email_claim=str(mapping.get("email", "email")),
    )


def client_for(provider: UpstreamProvider, settings: Settings) -> Upstream:
    """The protocol client for `provider`, reaching it under the settings' fetch rules."""
    return preset(provider.kind).client(
        config_for(provider, settings), Transport.from_settings(settings)
    )
