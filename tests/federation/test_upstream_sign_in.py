"""Signing in with an upstream OpenID Connect provider: here a second instance of this
provider (the `peer`), reached over loopback.

OpenID Connect Core §3.1 (authorization code flow), RFC 7636 (PKCE), RFC 9207 (`iss`),
RFC 8176 §2 (`fed`).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.models import FederatedIdentity
from idp.identity import users
from idp.identity.models import LoginSession
from tests.federation.upstream_peer import SLUG, Upstreamer, connect

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")


def events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def test_first_sign_in_creates_a_verified_account_with_amr_fed(server, peer):
    """A trusted provider asserting a verified email: a new account, linked, signed in; the
    session's amr is `fed` (RFC 8176 §2: federated authentication)."""
    connect(server, peer)
    person = Upstreamer(server, peer)

    answer = person.sign_in()

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/account"
    with server.app.app_context():
        user = users.find_by_email("ada@example.com")
        assert user is not None and user.email_verified_at is not None
        assert user.password_hash is None and user.name == "Ada Peer"
        link = db.session.scalar(select(FederatedIdentity))
        assert link is not None and (link.source, link.user_id) == (SLUG, user.id)
        assert link.sealed_tokens is None  # keep_tokens is off
        session = db.session.scalar(select(LoginSession))
        assert session is not None and session.amr == ["fed"]
    (signed_in,) = events(server.app, "federated_sign_in")
    assert signed_in.detail["source"] == SLUG and signed_in.detail["created"] is True
    assert person.get(server.url + "/account").status_code == 200


def test_the_next_sign_in_uses_the_link(server, peer):
    connect(server, peer)
    Upstreamer(server, peer).sign_in()
    answer = Upstreamer(server, peer).sign_in()
    assert answer.status_code == 303
    with server.app.app_context():
        assert len(users.list_users()) == 1
    assert [e.detail["created"] for e in events(server.app, "federated_sign_in")] == [True, False]
