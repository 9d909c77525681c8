"""An organization's SSO connections, managed by its admins (permission `organization:update`).

A SAML connection is set from the IdP's metadata (pasted XML, or a URL fetched under the same
SSRF defences as client metadata documents) or from its entity id, SSO URL and certificate.
An OIDC connection keeps the issuer and client id, and the client secret sealed under its own
`info`. Both have a default role for members created on first sign-in, an optional attribute
whose values map to organization roles, `required` (no password or email sign-in for the
connection's domains) and `allow_idp_initiated` (SAML only; off by default). A SAML
connection has its own SP key pair (`_sp_key`), which decrypts EncryptedAssertions and, with
`sign_requests` (on by itself when the IdP's metadata says WantAuthnRequestsSigned), signs
the AuthnRequests.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from sqlalchemy import select

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import IdpError, InvalidInput
from idp.federation.saml.encryption import new_sp_key
from idp.federation.saml.metadata import MetadataRefused, read_idp_metadata, to_pem
from idp.federation.sso.models import SsoConnection
from idp.identity.actors import Actor
from idp.identity.organization_models import Organization
from idp.identity.permissions import OWNER, Acting, require, require_role_within, role_exists
from idp.keys.sealing import Sealer
from idp.oauth.metadata_documents import FetchRules, MetadataDocumentError, fetch
from idp.settings import app_settings

KINDS = ("saml", "oidc")
DEFAULT_SCOPES = ("openid", "email", "profile")
MAX_SCOPES = 20
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}")
SECRET_INFO = b"idp sso connection secrets v1"
SP_KEY_INFO = b"idp sso sp keys v1"
MAX_NAME = 200


class NoSuchConnection(IdpError):
    code = "not_found"
    status = 404


@dataclass
class ConnectionFields:
    """What the connection form posts (every value as typed)."""

    kind: str = "saml"
    name: str = ""
    enabled: bool = True
    metadata_xml: str = ""
    metadata_url: str = ""
    idp_entity_id: str = ""
    sso_url: str = ""
    certificate: str = ""
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    scopes: str = ""  # OIDC: space-separated; empty is openid email profile
    default_role: str = "member"
    role_attribute: str = ""
    role_map: dict[str, str] = field(default_factory=dict)
    required: bool = False
    allow_idp_initiated: bool = False
    sign_requests: bool = False  # SAML: sign the AuthnRequests (also set by the IdP's metadata)


def of_organization(organization_id: int) -> list[SsoConnection]:
    query = select(SsoConnection).where(SsoConnection.organization_id == organization_id)
    return list(db.session.scalars(query.order_by(SsoConnection.id)))


def find(organization_id: int, connection_id: int) -> SsoConnection:
    row = db.session.get(SsoConnection, connection_id)
    if row is None or row.organization_id != organization_id:
        raise NoSuchConnection("There is no such SSO connection in this organization.")
    return row


def create(actor: Actor, membership: Acting | None, fields: ConnectionFields) -> SsoConnection:
    member = require(membership, "organization", "update")
    row = SsoConnection(organization_id=member.organization_id, kind=fields.kind)
    _apply(row, fields, member)
    db.session.add(row)
    db.session.flush()
    record(Event.SSO_CONNECTION_CREATED, user_id=_id(actor), **_detail(row))
    _keep_required(row.organization_id)
    db.session.commit()
    return row


def update(
    actor: Actor, membership: Acting | None, connection_id: int, fields: ConnectionFields
) -> SsoConnection:
    member = require(membership, "organization", "update")
    row = find(member.organization_id, connection_id)
    fields.kind = row.kind
    _apply(row, fields, member)
    record(Event.SSO_CONNECTION_UPDATED, user_id=_id(actor), **_detail(row))
    _keep_required(row.organization_id)
    db.session.commit()
    return row


def delete(actor: Actor, membership: Acting | None, connection_id: int) -> None:
    member = require(membership, "organization", "update")
    row = find(member.organization_id, connection_id)
    record(Event.SSO_CONNECTION_DELETED, user_id=_id(actor), **_detail(row))
    db.session.delete(row)
    _keep_required(row.organization_id)
    db.session.commit()


def _keep_required(organization_id: int) -> None:
    """The organization's `sso_required` policy, from its connections: one enabled and
    required. The sign-in paths and OAuth read that flag (idp.identity.organizations)."""
    db.session.flush()
    required = db.session.scalar(
        select(SsoConnection.id).where(
            SsoConnection.organization_id == organization_id,
            SsoConnection.required.is_(True),
            SsoConnection.enabled.is_(True),
        )
    )
    organization = db.session.get(Organization, organization_id)
    if organization is not None:
        organization.sso_required = required is not None


def client_secret(row: SsoConnection) -> str:
    """The OIDC client secret, opened."""
    sealed = row.config.get("sealed_secret") or ""
    if not sealed:
        return ""
    return _sealer().open(sealed, label=_secret_label(row.config)).decode()


def _apply(row: SsoConnection, fields: ConnectionFields, member: Acting) -> None:
    if fields.kind not in KINDS:
        raise InvalidInput("The kind is saml or oidc.", field="kind")
    name = " ".join(fields.name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"Give a name of 1 to {MAX_NAME} characters.", field="name")
    for role in (fields.default_role, *fields.role_map.values()):
        _check_role(row.organization_id, role)
        require_role_within(member, role)  # whom it signs in gets no more than its admin holds
    if fields.kind == "saml":
        protocol = {**_saml_config(fields), **_sp_key(row)}
    else:
        protocol = _oidc_config(row, fields)
    row.name, row.enabled, row.default_role = name, fields.enabled, fields.default_role
    row.required = fields.required
    row.allow_idp_initiated = fields.allow_idp_initiated and fields.kind == "saml"
    mapping = {"role_attribute": fields.role_attribute.strip(), "role_map": fields.role_map}
    row.config = {**protocol, **mapping}


def _check_role(organization_id: int, role: str) -> None:
    if role == OWNER or not role_exists(organization_id, role):
        raise InvalidInput(
            f"“{role}” is not a role SSO may give here (any role but owner).", field="default_role"
        )


def _saml_config(fields: ConnectionFields) -> dict[str, Any]:
    metadata = fields.metadata_xml.strip().encode()
    if not metadata and fields.metadata_url.strip():
        metadata = _fetched(fields.metadata_url.strip())
    if metadata:
        try:
            read = read_idp_metadata(metadata)
        except MetadataRefused as error:
            raise InvalidInput(error.message, field="metadata_xml") from None
        entity_id, sso_url, certificates = read.entity_id, read.sso_url, read.certificates
        sign = fields.sign_requests or read.want_authn_requests_signed
    else:
        entity_id, sso_url = fields.idp_entity_id.strip(), fields.sso_url.strip()
        certificates = [to_pem(fields.certificate)] if fields.certificate.strip() else []
        sign = fields.sign_requests
    if not entity_id:
        raise InvalidInput("Give the identity provider's entity ID.", field="idp_entity_id")
    if not sso_url.startswith(("https://", "http://")):
        raise InvalidInput("Give the identity provider's sign-in URL.", field="sso_url")
    if not certificates:
        raise InvalidInput("Give the identity provider's signing certificate.", field="certificate")
    for pem in certificates:
        _check_certificate(pem)
    return {
        "idp_entity_id": entity_id,
        "sso_url": sso_url,
        "certificates": certificates,
        "sign_requests": sign,
    }


def _sp_key(row: SsoConnection) -> dict[str, Any]:
    """The connection's own key, for encrypted assertions and signed requests: kept across
    changes, made once."""
    config = row.config or {}
    if config.get("sealed_sp_key") and config.get("sp_certificate"):
        keep = ("sp_key_id", "sealed_sp_key", "sp_certificate")
        return {name: config[name] for name in keep}
    key_id = secrets.token_hex(16)
    private, certificate = new_sp_key("idp sso " + key_id)
    sealed = Sealer(app_settings().secret_key, info=SP_KEY_INFO).seal(
        private.encode(), label="sso-sp-key:" + key_id
    )
    return {"sp_key_id": key_id, "sealed_sp_key": sealed, "sp_certificate": certificate}


def signs_requests(row: SsoConnection) -> bool:
    """Whether the connection signs its AuthnRequests (SAML bindings §3.4.4.1)."""
    return row.kind == "saml" and bool((row.config or {}).get("sign_requests"))


def sp_private_key(row: SsoConnection) -> str | None:
    """The connection's SP private key (PEM), opened; None when it has none."""
    config = row.config or {}
    if not config.get("sealed_sp_key"):
        return None
    sealer = Sealer(app_settings().secret_key, info=SP_KEY_INFO)
    return sealer.open(config["sealed_sp_key"], label="sso-sp-key:" + config["sp_key_id"]).decode()


def _check_certificate(pem: str) -> None:
    try:
        x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise InvalidInput(
            "The certificate is not a valid X.509 certificate.", field="certificate"
        ) from None


def _fetched(url: str) -> bytes:
    settings = app_settings()
    rules = FetchRules(
        timeout=settings.client_metadata_timeout,
        max_bytes=settings.client_metadata_max_bytes,
        allow_private=settings.client_metadata_allow_private,
        allow_http=settings.is_development,
    )
    try:
        return fetch(url, rules).body
    except MetadataDocumentError:
        raise InvalidInput(
            f"The metadata at {url} could not be fetched.", field="metadata_url"
        ) from None


def _oidc_config(row: SsoConnection, fields: ConnectionFields) -> dict[str, Any]:
    issuer, client_id = fields.issuer.strip(), fields.client_id.strip()
    development = app_settings().is_development and issuer.startswith("http://")
    if not issuer.startswith("https://") and not development:
        raise InvalidInput(
            "The issuer must be an https:// URL (http only in development).", field="issuer"
        )
    if not client_id:
        raise InvalidInput("Give the client ID.", field="client_id")
    config = {"issuer": issuer, "client_id": client_id, "scopes": _scopes(fields.scopes)}
    sealed = (row.config or {}).get("sealed_secret", "")
    if fields.client_secret:
        sealed = _sealer().seal(fields.client_secret.encode(), label=_secret_label(config))
    if not sealed:
        raise InvalidInput("Give the client secret.", field="client_secret")
    return {**config, "sealed_secret": sealed}


def _scopes(typed: str) -> list[str]:
    """The scopes to ask the IdP for: `openid` first, then those typed (RFC 6749 §3.3: each
    a run of printable ASCII other than space, `"` and `\\`), at most `MAX_SCOPES`."""
    wanted = list(dict.fromkeys(["openid", *typed.split()])) if typed.strip() else []
    if not wanted:
        return list(DEFAULT_SCOPES)
    bad = [s for s in wanted if not SCOPE_TOKEN.fullmatch(s)]
    if bad:
        raise InvalidInput(f"“{bad[0][:40]}” is not a valid scope.", field="scopes")
    if len(wanted) > MAX_SCOPES:
        raise InvalidInput(f"Ask for at most {MAX_SCOPES} scopes.", field="scopes")
    return wanted


def _secret_label(config: dict[str, Any]) -> str:
    return f"sso-oidc:{config.get('issuer')}:{config.get('client_id')}"


def _sealer() -> Sealer:
    return Sealer(app_settings().secret_key, info=SECRET_INFO)


def _detail(row: SsoConnection) -> dict[str, Any]:
    return {"organization": row.organization_id, "connection": row.id, "kind": row.kind}


def _id(actor: Actor) -> int | None:
    return actor.id
