"""Helpers of the enterprise SSO tests over OpenID Connect: an organization `corp` with an OIDC
connection and the verified domain corp.example (`make_oidc_corp`), its IdP being the second
instance of this provider (`peer`, tests/federation/upstream_peer.py) or a scripted one
(tests/federation/scripted.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from idp.db import db, utcnow
from idp.federation.sso import connections, domains, oidc_flow
from idp.federation.sso.connections import ConnectionFields
from idp.identity import organizations, users
from idp.identity.organizations import Fields
from idp.identity.users import find_by_email
from idp.oauth.clients import ClientSpec, create_client
from tests.helpers.factories import PASSWORD
from tests.helpers.live_server import LiveServer

OWNER = "owner@example.com"


@dataclass
class OidcCorp:
    app: Flask
    organization_id: int
    connection_id: int
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> str:
        return f"/sso/{self.connection_id}/start"

    def set_client(self, client_id: str, secret: str) -> None:
        """The connection's client at its IdP, as its admin would change it."""
        with self.app.app_context():
            owner = find_by_email(OWNER)
            assert owner is not None
            membership = organizations.membership_of(owner, self.organization_id)
            fields = ConnectionFields(client_id=client_id, client_secret=secret, **self.options)
            connections.update(owner, membership, self.connection_id, fields)
            db.session.remove()


def make_oidc_corp(
    app: Flask,
    make_user: Callable[..., Any],
    issuer: str,
    *,
    client_id: str = "scripted-client",
    secret: str | None = None,
    domain: str = "corp.example",
    **options: Any,
) -> OidcCorp:
    """`corp`, its OIDC connection to `issuer` (groups `idp-admins` -> admin) and `domain`
    verified (the operator's approval)."""
    make_user(OWNER, name="Owner")
    options = {
        "kind": "oidc",
        "name": "Corp IdP",
        "issuer": issuer,
        "role_attribute": "groups",
        "role_map": {"idp-admins": "admin"},
        **options,
    }
    with app.app_context():
        owner = find_by_email(OWNER)
        assert owner is not None
        organization = organizations.create(owner, Fields(name="Corp", slug="corp"))
        membership = organizations.member_by_slug(owner, "corp")
        secret = secret or "scripted-secret"
        fields = ConnectionFields(client_id=client_id, client_secret=secret, **options)
        connection = connections.create(owner, membership, fields)
        claimed = domains.claim(owner, membership, domain, connection.id)
        domains.approve(owner, claimed.id)
        corp = OidcCorp(app, organization.id, connection.id, options)
        db.session.remove()
    return corp


def peer_corp(
    server: LiveServer,
    peer: LiveServer,
    make_user: Callable[..., Any],
    email: str = "eve@corp.example",
    **options: Any,
) -> OidcCorp:
    """`corp` with the peer as its IdP: a person `email` there, and a client there whose
    redirect URI is the one the organization's SSO page shows."""
    corp = make_oidc_corp(server.app, make_user, peer.url, **options)
    with server.app.app_context():
        redirect_uri = oidc_flow.redirect_uri(corp.connection_id)
    with peer.app.app_context():
        if users.find_by_email(email) is None:
            person = users.create_user(email, "Eve Peer", PASSWORD)
            person.email_verified_at = utcnow()
            db.session.commit()
        client, secret = create_client(
            ClientSpec(name="Corp SSO", redirect_uris=[redirect_uri], first_party=True)
        )
        client_id = client.client_id
    assert secret is not None
    corp.set_client(client_id, secret)
    return corp
