"""Registering, changing and removing service providers, each change with its audit row.

An SP is registered from its metadata (XML or a URL); the operator then chooses the NameID
format, the attributes released, whether IdP-initiated sign-in is allowed and whether it is
enabled. One row per entity ID: a registration racing another gets the same message as a
second registration would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import InvalidInput
from idp.federation.saml_idp import sp_metadata
from idp.federation.saml_idp.attributes import ATTRIBUTES
from idp.federation.saml_idp.models import SamlServiceProvider
from idp.federation.saml_idp.xml import NAME_ID_FORMATS


class EntityTaken(InvalidInput):
    code = "entity_taken"


@dataclass
class Choices:
    """What the operator decides about an SP, beyond its metadata."""

    name: str = ""
    name_id_format: str = "email"
    attributes: list[str] = field(default_factory=lambda: ["email", "name"])
    allow_idp_initiated: bool = False
    enabled: bool = True


def listed() -> list[SamlServiceProvider]:
    return list(db.session.scalars(select(SamlServiceProvider).order_by(SamlServiceProvider.name)))


def find(entity_id: str) -> SamlServiceProvider | None:
    return db.session.scalar(
        select(SamlServiceProvider).where(SamlServiceProvider.entity_id == entity_id)
    )


def metadata_from(source: str) -> tuple[bytes, str | None]:
    """The metadata document and its URL, when `source` is a URL; else `source` is XML."""
    if source.strip().startswith(("http://", "https://")):
        url = source.strip()
        return sp_metadata.fetch(url), url
    return source.encode(), None


def register(xml: bytes, choices: Choices, *, url: str | None = None) -> SamlServiceProvider:
    described = sp_metadata.read(xml)
    _check(choices)
    if find(described.entity_id) is not None:
        raise _taken(described.entity_id)
    provider = SamlServiceProvider(entity_id=described.entity_id, metadata_url=url)
    _apply(provider, described, xml)
    _choose(provider, choices, described.name)
    db.session.add(provider)
    try:
        db.session.flush()
    except IntegrityError:  # registered by a parallel request since the check above
        db.session.rollback()
        raise _taken(described.entity_id) from None
    record(Event.SAML_SERVICE_PROVIDER_CREATED, subject=provider.entity_id, name=provider.name)
    db.session.commit()
    return provider


def update(provider: SamlServiceProvider, choices: Choices, xml: bytes | None = None) -> None:
    """New choices, and new metadata when given (its entity ID must stay the same)."""
    _check(choices)
    if xml is not None:
        described = sp_metadata.read(xml)
        if described.entity_id != provider.entity_id:
            raise InvalidInput("The new metadata is for another entity ID.", field="metadata")
        _apply(provider, described, xml)
    _choose(provider, choices, None)
    record(Event.SAML_SERVICE_PROVIDER_UPDATED, subject=provider.entity_id, name=provider.name)
    db.session.commit()


def delete(provider: SamlServiceProvider) -> None:
    record(Event.SAML_SERVICE_PROVIDER_DELETED, subject=provider.entity_id, name=provider.name)
    db.session.delete(provider)
    db.session.commit()


def _check(choices: Choices) -> None:
    if choices.name_id_format not in NAME_ID_FORMATS:
        raise InvalidInput("The NameID format must be email or persistent.", field="name_id_format")
    unknown = sorted(set(choices.attributes) - set(ATTRIBUTES))
    if unknown:
        raise InvalidInput(f"Unknown attributes: {', '.join(unknown)}.", field="attributes")
    if len(choices.name) > 200:
        raise InvalidInput("The name is longer than 200 characters.", field="name")


def _apply(provider: SamlServiceProvider, described: sp_metadata.SpDescription, xml: bytes) -> None:
    provider.acs_endpoints = described.acs_endpoints
    provider.slo_url = described.slo_url
    provider.slo_binding = described.slo_binding
    provider.certificates = described.certificates
    provider.authn_requests_signed = described.authn_requests_signed
    provider.want_assertions_signed = described.want_assertions_signed
    provider.metadata_xml = xml.decode("utf-8", "replace")


def _choose(provider: SamlServiceProvider, choices: Choices, described_name: str | None) -> None:
    provider.name = choices.name.strip() or described_name or provider.name or provider.entity_id
    provider.name = provider.name[:200]
    provider.name_id_format = choices.name_id_format
    provider.attributes = list(dict.fromkeys(choices.attributes))
    provider.allow_idp_initiated = choices.allow_idp_initiated
    provider.enabled = choices.enabled


def _taken(entity_id: str) -> EntityTaken:
    return EntityTaken(
        f"A service provider with entity ID {entity_id} is already registered.", field="metadata"
    )
