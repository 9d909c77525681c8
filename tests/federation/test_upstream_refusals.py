"""Every refusal of an upstream's answer: audited as federated_sign_in_failed with its
reason, the same error page, and nothing stored.

Against the peer (a correct provider): a wrong `state` (RFC 6749 §10.12), a replayed
callback (the state is used once), an `iss` from another issuer (RFC 9207 §2.4), an error
from the provider (RFC 6749 §4.1.2.1). Against a scripted provider (answers a correct one
never sends): an ID token for another audience, with a bad signature, with another nonce,
expired (OpenID Connect Core §3.1.3.7), and a discovery document naming another issuer
(OpenID Connect Discovery 1.0 §4.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from tests.federation.scripted import ScriptedOp
from tests.federation.upstream_peer import SLUG, Upstreamer, configure, connect

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
EXPIRED = "This sign-in is not valid any more"


def failures(app) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "federated_sign_in_failed")
        )
        return [row.detail["reason"] for row in rows]


def with_params(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    params.update(changes)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}"


def refused(answer: requests.Response, status: int, message: str) -> None:
    assert answer.status_code == status, answer.text[:500]
    assert message in answer.text.replace("&#39;", "'")
    assert "idp_session" not in answer.cookies


def test_a_wrong_state_is_refused(server, peer, snapshot):
    """RFC 6749 §10.12: a callback whose state this browser did not start is refused."""
    connect(server, peer)
    person = Upstreamer(server, peer)
    callback = person.to_callback()
    before = snapshot()

    answer = person.get(with_params(callback, state="forged-state"))

    refused(answer, 400, EXPIRED)
    assert failures(server.app) == ["bad_state"]
    assert snapshot() == before


def test_a_callback_in_another_browser_is_refused(server, peer, snapshot):
    """The state is bound to the browser that started (login CSRF, RFC 6749 §10.12)."""
    connect(server, peer)
    callback = Upstreamer(server, peer).to_callback()
    before = snapshot()

    answer = requests.get(callback, allow_redirects=False, timeout=20)

    refused(answer, 400, EXPIRED)
    assert failures(server.app) == ["bad_state"]
    assert snapshot() == before


def test_a_replayed_callback_is_refused(server, peer, snapshot):
    """The state is used once: the same callback again signs nobody in."""
    connect(server, peer)
    person = Upstreamer(server, peer)
    callback = person.to_callback()
    assert person.get(callback).status_code == 303
    before = snapshot()

    answer = Upstreamer(server, peer, person.http).get(callback)

    refused(answer, 400, EXPIRED)
    assert failures(server.app) == ["bad_state"]
    assert snapshot() == before


def test_an_iss_from_another_issuer_is_refused(server, peer, snapshot):
    """RFC 9207 §2.4: an `iss` other than the provider's issuer is a mix-up; refused."""
    connect(server, peer)
    person = Upstreamer(server, peer)
    callback = person.to_callback()
    assert parse_qs(urlsplit(callback).query)["iss"] == [peer.url]
    before = snapshot()

    answer = person.get(with_params(callback, iss="https://evil.example"))

    refused(answer, 400, "The answer came from another provider.")
    assert failures(server.app) == ["iss_mismatch"]
    assert snapshot() == before


def test_an_error_from_the_provider_is_refused(server, peer, snapshot):
    """RFC 6749 §4.1.2.1: the person denies consent at the provider; it answers
    access_denied and nobody is signed in."""
    connect(server, peer, first_party=False)
    person = Upstreamer(server, peer)
    start = person.get(server.url + f"/sign-in/with/{SLUG}")
    answer = person.get(start.headers["Location"])
    sign_in = peer.url + answer.headers["Location"]
    answer = person._sign_in_at_peer(sign_in, "ada@example.com")
    while answer.status_code in (302, 303) and "/consent/" not in answer.headers["Location"]:
        answer = person.get(peer.url + answer.headers["Location"])
    page = peer.url + answer.headers["Location"]
    token = person.get(page).text.split('name="csrf_token" value="')[1].split('"')[0]
    denied = person.http.post(
        page, data={"csrf_token": token, "decision": "deny"}, allow_redirects=False
    )
    callback = denied.headers["Location"]
    assert callback.startswith(server.url) and "error=access_denied" in callback
    before = snapshot()

    answer = person.get(callback)

    refused(answer, 400, "The provider did not sign you in.")
    assert failures(server.app) == ["provider_error"]
    assert snapshot() == before


def test_a_missing_iss_is_refused_when_the_provider_sends_it(server, peer, snapshot):
    """RFC 9207 §2.4: a provider whose metadata says it sends `iss` must send it; a response
    without it may come from another."""
    connect(server, peer)
    person = Upstreamer(server, peer)
    callback = person.to_callback()
    parts = urlsplit(callback)
    without = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "iss"}
    before = snapshot()

    answer = person.get(f"{server.url}{parts.path}?{urlencode(without)}")

    refused(answer, 400, "The answer does not say which provider sent it.")
    assert failures(server.app) == ["iss_missing"]
    assert snapshot() == before


@pytest.fixture
def op() -> Iterator[ScriptedOp]:
    scripted = ScriptedOp()
    yield scripted
    scripted.stop()


def start_scripted(
    server, op: ScriptedOp, kind: str = "oidc", issuer: str = ""
) -> tuple[requests.Session, dict[str, str]]:
    configure(server.app, "scripted", op.url + issuer, op.client_id, "secret", kind=kind)
    http = requests.Session()
    start = http.get(server.url + "/sign-in/with/scripted", allow_redirects=False, timeout=20)
    assert start.status_code == 303
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["Location"]).query).items()}
    assert query["code_challenge_method"] == "S256"  # RFC 7636 §4.3
    return http, query


def call_back(server, http: requests.Session, query: dict[str, str]) -> requests.Response:
    params = urlencode({"code": "c", "state": query["state"]})
    url = f"{server.url}/sign-in/with/scripted/callback?{params}"
    return http.get(url, allow_redirects=False, timeout=20)


@pytest.mark.parametrize(
    ("changes", "reason", "message"),
    [
        ({"aud": "another-client"}, "id_token_aud", "issued to another application"),
        ({"aud": ["scripted-client", "x"]}, "id_token_azp", "issued to another application"),
        ({"azp": "another-client"}, "id_token_azp", "issued to another application"),
        ({"nonce": "another-nonce"}, "nonce_mismatch", "was not for this request"),
        ({"iss": "https://evil.example"}, "id_token_iss", "comes from another provider"),
        ({"exp": 1_000_000_000}, "id_token_expired", "has expired"),
    ],
)
def test_id_token_claims_are_checked(server, op, snapshot, changes, reason, message):
    """OpenID Connect Core §3.1.3.7: iss (2), aud (3), azp (4, 5), exp (9), nonce (11)."""
    http, query = start_scripted(server, op)
    op.id_token_claims(query["nonce"], **changes)
    before = snapshot()

    answer = call_back(server, http, query)

    refused(answer, 400, message)
    assert failures(server.app) == [reason]
    assert snapshot() == before


def test_userinfo_about_another_subject_is_refused(server, op, snapshot):
    """OpenID Connect Core §5.3.2: the UserInfo `sub` must be the ID token's."""
    op.userinfo = {"sub": "someone-else", "email": "mallory@example.com"}
    http, query = start_scripted(server, op)
    op.id_token_claims(query["nonce"])
    before = snapshot()

    answer = call_back(server, http, query)

    refused(answer, 400, "The provider described another person.")
    assert failures(server.app) == ["userinfo_sub"]
    assert snapshot() == before


def test_an_id_token_with_a_bad_signature_is_refused(server, op, snapshot):
    """OpenID Connect Core §3.1.3.7 (6): signed by a key that is not in the provider's JWKS
    (same kid: no key confusion either)."""
    http, query = start_scripted(server, op)
    op.id_token_claims(query["nonce"])
    op.sign_with = op.other_key
    before = snapshot()

    answer = call_back(server, http, query)

    refused(answer, 400, "The provider's ID token is not valid.")
    assert failures(server.app) == ["bad_signature"]
    assert snapshot() == before


def test_the_scripted_provider_signs_in_when_all_is_right(server, op):
    """The scripted provider is a fair test: with nothing changed the sign-in succeeds."""
    http, query = start_scripted(server, op)
    op.id_token_claims(query["nonce"])
    answer = call_back(server, http, query)
    assert answer.status_code == 303, answer.text[:300]
    assert failures(server.app) == []


def test_a_discovery_document_for_another_issuer_is_refused(server, op, snapshot):
    """OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be the one asked."""
    configure(server.app, "scripted", op.url + "/tenant", op.client_id, "scripted-secret")
    op.server.routes[("GET", "/tenant/.well-known/openid-configuration")] = op._discovery
    before = snapshot()

    answer = requests.get(server.url + "/sign-in/with/scripted", allow_redirects=False, timeout=20)

    refused(answer, 502, "configuration is wrong")
    assert failures(server.app) == ["discovery"]
    assert snapshot() == before
