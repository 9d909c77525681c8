"""Enterprise SSO through an organization's OpenID Connect connection: its IdP is a second
instance of this provider (`peer`), or a scripted one for answers a correct IdP never sends.

OpenID Connect Core §3.1 (authorization code flow; §3.1.2.1 login_hint, nonce; §3.1.3.7 the
ID token's checks), RFC 7636 §4.3 (PKCE S256), RFC 6749 §10.12 (state), RFC 8176 §2 (`fed`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.models import FederatedIdentity
from idp.identity import members
from idp.identity.models import LoginSession
from idp.identity.organization_models import Membership, SsoSession
from idp.identity.users import find_by_email
from tests.federation.scripted import ScriptedOp
from tests.federation.sso_oidc_fixtures import make_oidc_corp, peer_corp
from tests.federation.upstream_peer import Upstreamer
from tests.helpers.browser import Browser

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
REQUIRED = "Your organization signs you in with single sign-on, not a password or an email code."
EXPIRED = "not valid any more"
PARALLEL = 4


def events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def failures(app) -> list[str]:
    return [row.detail["reason"] for row in events(app, "federated_sign_in_failed")]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_params(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {**query_of(url), **changes}
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}"


def refused(answer: requests.Response, message: str) -> None:
    assert answer.status_code == 403, answer.text[:500]
    assert message in answer.text.replace("&#39;", "'")
    assert "idp_session" not in answer.cookies


def test_home_realm_discovery_signs_in_through_the_oidc_idp(server, peer, make_user):
    """An address of the verified domain, no password: to the organization's OIDC IdP with
    login_hint (OIDC Core §3.1.2.1) and PKCE S256 (RFC 7636 §4.3); back, a new account, a
    member with the default role, a session with amr `fed` (RFC 8176 §2) bound to the
    organization."""
    corp = peer_corp(server, peer, make_user)
    browser = Browser(server)
    typed = browser.submit("/sign-in", email="Eve@Corp.Example", password="", next="/account")
    assert typed.status_code == 303
    start = typed.headers["Location"].removeprefix(server.url)
    assert start.startswith(corp.start)
    to_idp = browser.get(start)
    authorize = query_of(to_idp.headers["Location"])
    assert authorize["login_hint"] == "eve@corp.example"
    assert authorize["code_challenge_method"] == "S256" and authorize["nonce"]
    person = Upstreamer(server, peer, browser.http)

    answer = person.sign_in(start=start, email="eve@corp.example")

    assert answer.status_code == 303 and answer.headers["Location"] == "/account"
    with server.app.app_context():
        user = find_by_email("eve@corp.example")
        assert user is not None and user.password_hash is None
        assert members.find(corp.organization_id, user.id).role == "member"
        link = db.session.scalar(select(FederatedIdentity))
        assert (link.source, link.user_id) == (f"sso:{corp.connection_id}", user.id)
        session = db.session.scalar(select(LoginSession))
        assert session is not None and session.amr == ["fed"]
        bound = db.session.get(SsoSession, session.id)
        assert bound is not None and bound.organization_id == corp.organization_id
    (signed_in,) = events(server.app, "federated_sign_in")
    assert signed_in.detail["connection"] == corp.connection_id
    assert person.get(server.url + "/account").status_code == 200


@pytest.fixture
def op() -> Iterator[ScriptedOp]:
    scripted = ScriptedOp()
    yield scripted
    scripted.stop()


def start_scripted(server, op: ScriptedOp, make_user) -> tuple[requests.Session, dict[str, str]]:
    corp = make_oidc_corp(server.app, make_user, op.url, client_id=op.client_id)
    http = requests.Session()
    start = http.get(server.url + corp.start, allow_redirects=False, timeout=20)
    assert start.status_code == 303, start.text[:300]
    return http, {**query_of(start.headers["Location"]), "id": str(corp.connection_id)}


def call_back(server, http: requests.Session, query: dict[str, str]) -> requests.Response:
    url = f"{server.url}/sso/oidc/{query['id']}/callback?code=c&state={query['state']}"
    return http.get(url, allow_redirects=False, timeout=20)


def test_a_groups_claim_sets_the_mapped_role(server, op, make_user):
    """The connection maps the `groups` claim: `idp-admins` makes the new member an admin."""
    http, query = start_scripted(server, op, make_user)
    op.id_token_claims(query["nonce"], email="eve@corp.example", groups=["idp-admins"])

    answer = call_back(server, http, query)

    assert answer.status_code == 303, answer.text[:300]
    with server.app.app_context():
        user = find_by_email("eve@corp.example")
        assert user is not None
        organization_id = db.session.scalar(select(SsoSession.organization_id))
        assert members.find(organization_id, user.id).role == "admin"


@pytest.mark.parametrize(
    ("changes", "reason", "message"),
    [
        ({"aud": "another-client"}, "id_token_aud", "issued to another application"),
        ({"nonce": "another-nonce"}, "nonce_mismatch", "was not for this request"),
    ],
)
def test_id_token_claims_are_checked(server, op, make_user, snapshot, changes, reason, message):
    """OpenID Connect Core §3.1.3.7: aud (3) and nonce (11); refused, audited, nothing kept."""
    http, query = start_scripted(server, op, make_user)
    op.id_token_claims(query["nonce"], email="eve@corp.example", **changes)
    before = snapshot()

    answer = call_back(server, http, query)

    refused(answer, message)
    assert failures(server.app) == [reason]
    assert snapshot() == before


def test_a_wrong_state_is_refused(server, peer, make_user, snapshot):
    """RFC 6749 §10.12: a callback whose state this browser did not start signs nobody in."""
    corp = peer_corp(server, peer, make_user)
    person = Upstreamer(server, peer)
    callback = person.to_callback(start=corp.start, email="eve@corp.example")
    before = snapshot()

    answer = person.get(with_params(callback, state="forged-state"))

    refused(answer, EXPIRED)
    assert failures(server.app) == ["bad_state"]
    assert snapshot() == before


def test_a_callback_in_another_browser_is_refused(server, peer, make_user, snapshot):
    """What the sign-in started is bound to its browser (login CSRF, RFC 6749 §10.12)."""
    corp = peer_corp(server, peer, make_user)
    callback = Upstreamer(server, peer).to_callback(start=corp.start, email="eve@corp.example")
    before = snapshot()

    answer = requests.get(callback, allow_redirects=False, timeout=20)

    refused(answer, EXPIRED)
    assert failures(server.app) == ["bad_state"]
    assert snapshot() == before


def test_an_address_outside_the_verified_domains_is_not_linked(server, peer, make_user, snapshot):
    """The IdP asserts ada@example.com, which corp does not control: the existing account
    with that address is not linked, and no account is made."""
    make_user("ada@example.com")
    corp = peer_corp(server, peer, make_user, email="ada@example.com")
    person = Upstreamer(server, peer)
    callback = person.to_callback(start=corp.start, email="ada@example.com")
    before = snapshot()

    answer = person.get(callback)

    refused(answer, "outside the organization's verified domains")
    assert failures(server.app) == ["email_domain"]
    assert snapshot() == before


def test_required_oidc_sso_refuses_a_password(server, op, make_user, snapshot):
    make_oidc_corp(server.app, make_user, op.url, required=True)
    make_user("bob@corp.example")
    browser = Browser(server)
    before = snapshot()

    answer = browser.sign_in("bob@corp.example")

    assert answer.status_code == 403
    assert REQUIRED in answer.text and "Continue with single sign-on" in answer.text
    assert snapshot() == before
    assert browser.cookie() is None


def test_the_sso_page_shows_the_redirect_uri_to_register(server, op, make_user):
    corp = make_oidc_corp(server.app, make_user, op.url)
    browser = Browser(server)
    assert browser.sign_in("owner@example.com").status_code == 303

    page = browser.get("/organizations/corp/sso")

    assert page.status_code == 200
    assert f"{server.url}/sso/oidc/{corp.connection_id}/callback" in page.text


def test_parallel_first_sign_ins_make_one_account_link_and_membership(server, peer, make_user):
    """Two tabs finishing the same first sign-in at once: one account, one link, one
    membership, and every tab signed in (as if one came after the other)."""
    corp = peer_corp(server, peer, make_user)
    people = [Upstreamer(server, peer) for _ in range(PARALLEL)]
    callbacks = [p.to_callback(start=corp.start, email="eve@corp.example") for p in people]
    barrier = threading.Barrier(PARALLEL)

    def call_back(i: int) -> int:
        barrier.wait()
        return people[i].get(callbacks[i]).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(call_back, range(PARALLEL)))

    assert statuses == [303] * PARALLEL
    with server.app.app_context():
        count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert count(FederatedIdentity) == 1
        assert count(Membership) == 2  # the owner and Eve
        assert find_by_email("eve@corp.example") is not None


def test_the_connections_scopes_are_asked_for(server, op, make_user):
    """OIDC Core §3.1.2.1: `scope` holds `openid` and what the connection asks for (here the
    `groups` an IdP sends only when asked)."""
    corp = make_oidc_corp(
        server.app, make_user, op.url, client_id=op.client_id, scopes="groups email"
    )
    http = requests.Session()

    start = http.get(server.url + corp.start, allow_redirects=False, timeout=20)

    assert query_of(start.headers["Location"])["scope"] == "openid groups email"
