"""Fixtures of the enterprise SSO tests: the test IdP's keys, an organization `corp` with a
SAML connection to pysaml2 (`saml_idp_peer.py`) and the verified domain corp.example, and a
DNS server on 127.0.0.1 that the app asks. Each test module takes them with
`from tests.federation.sso_fixtures import *` (a module of its own, not a conftest, so other
federation tests are left as they are)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from idp.db import db
from idp.federation.sso import connections, domains, flow
from idp.federation.sso.connections import ConnectionFields
from idp.identity import organizations
from idp.identity.organizations import Fields
from idp.identity.users import find_by_email
from tests.federation.dns_server import DnsServer, running
from tests.federation.saml_idp_peer import KeyPair, SamlIdpPeer, encoded, make_key_pair
from tests.helpers.browser import Browser

IDP_ENTITY_ID = "https://idp.corp.example/metadata"
IDP_SSO_URL = "https://idp.corp.example/sso"


@pytest.fixture(scope="session")
def idp_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("saml"), "corp-idp")


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("saml-other"), "someone-else")


@dataclass
class Corp:
    """The organization, its connection, and the IdP peer configured for it."""

    app: Flask
    organization_id: int
    connection_id: int
    acs_url: str
    sp_entity_id: str
    peer: SamlIdpPeer
    peer_metadata: bytes

    def start(self, browser: Browser) -> str:
        """Start a sign-in in `browser`; the AuthnRequest's ID (read by pysaml2)."""
        answer = browser.get(f"/sso/{self.connection_id}/start")
        assert answer.status_code == 303, answer.text
        return self.peer.request_id_in(answer.headers["Location"])

    def response(
        self, in_response_to: str | None, email: str = "eve@corp.example", **kw: Any
    ) -> str:
        kw.setdefault("acs_url", self.acs_url)
        kw.setdefault("audience", self.sp_entity_id)
        return self.peer.response(in_response_to=in_response_to, email=email, **kw)

    def post(self, browser: Browser, xml: str | bytes) -> Any:
        url = browser.base + f"/sso/saml/{self.connection_id}/acs"
        browser.last = browser.http.post(
            url, data={"SAMLResponse": encoded(xml)}, allow_redirects=False
        )
        return browser.last


def make_corp(
    app: Flask,
    make_user: Callable[..., Any],
    keys: KeyPair,
    *,
    slug: str = "corp",
    domain: str = "corp.example",
    owner: str = "owner@example.com",
    idp_wants_signed_requests: bool = False,
    **options: Any,
) -> Corp:
    """The organization `slug` with a SAML connection (`options`: more `ConnectionFields`)
    to a pysaml2 IdP given the connection's SP metadata; with `idp_wants_signed_requests`
    that IdP refuses AuthnRequests not signed with the connection's key."""
    make_user(owner, name="Owner")
    with app.app_context():
        user = find_by_email(owner)
        assert user is not None
        organization = organizations.create(user, Fields(name=slug.title(), slug=slug))
        membership = organizations.member_by_slug(user, slug)
        options.setdefault("sso_url", IDP_SSO_URL)
        fields = ConnectionFields(
            name=f"{slug.title()} IdP",
            idp_entity_id=IDP_ENTITY_ID,
            certificate=keys.cert_pem,
            role_attribute="groups",
            role_map={"idp-admins": "admin"},
            **options,
        )
        connection = connections.create(user, membership, fields)
        claimed = domains.claim(user, membership, domain, connection.id)
        domains.approve(user, claimed.id)
        ids = organization.id, connection.id
        acs, sp = flow.acs_url(connection.id), flow.sp_entity_id(connection.id)
        metadata = flow.metadata(connection)
        db.session.remove()
    peer = SamlIdpPeer(
        IDP_ENTITY_ID,
        options["sso_url"],
        keys,
        metadata,
        want_signed_requests=idp_wants_signed_requests,
    )
    return Corp(app, ids[0], ids[1], acs, sp, peer, metadata)


@pytest.fixture
def corp(app: Flask, make_user: Callable[..., Any], idp_keys: KeyPair) -> Corp:
    return make_corp(app, make_user, idp_keys)


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    """A DNS server on 127.0.0.1 that the app's domain verification asks (records per test)."""
    with running() as server:
        yield server


@pytest.fixture
def env(env: dict[str, str], dns_server: DnsServer) -> dict[str, str]:
    dns_server.records.clear()
    env["IDP_SSO_DNS_RESOLVER"] = dns_server.address
    return env


__all__ = ["Corp", "corp", "dns_server", "env", "idp_keys", "make_corp", "other_keys"]
