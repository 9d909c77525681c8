"""Client authentication with a JWT signed by the client's private key (private_key_jwt).

RFC 7523 §2.2 (client assertions) and §3 (iss = sub = client_id, aud names the http, exp,
single-use jti); OpenID Connect Core §9 (the token endpoint URL as audience); RFC 6749 §5.2
(invalid_client); RFC 8414 §2 (the methods and algorithms advertised).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from tests.conftest import PASSWORD
from tests.oauth.conftest import RegisteredClient, follow
from tests.oauth.issued import claims_of

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY = RSAKey.generate_key(2048, parameters={"kid": "client-key-1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "client-key-1"})
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "client-key-2"})


@pytest.fixture
def client(make_client) -> RegisteredClient:
    jwks = {"keys": [KEY.as_dict(private=False), EC_KEY.as_dict(private=False)]}
    registered: RegisteredClient = make_client(
        auth_method="private_key_jwt",
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        jwks=jwks,
    )
    return registered


def assertion(http, client: RegisteredClient, key: Any = KEY, alg: str = "RS256", **claims):
    now = int(time.time())
    body = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": http.base + "/token",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, body, key, algorithms=[alg])


def token_with(http, signed: str, **form: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        **form,
    }
    return http.post("/token", data=data, timeout=5)


def assert_refused(response: requests.Response) -> None:
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client"


def test_discovery_advertises_private_key_jwt(http):
    metadata = http.get("/.well-known/openid-configuration", timeout=5).json()

    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert "RS256" in metadata["token_endpoint_auth_signing_alg_values_supported"]
    assert "HS256" not in metadata["token_endpoint_auth_signing_alg_values_supported"]


def test_a_signed_assertion_authenticates_the_client(http, client):
    response = token_with(http, assertion(http, client))

    assert response.status_code == 200, response.text
    assert claims_of(http, response.json()["access_token"])["sub"] == client.client_id


@pytest.mark.parametrize("audience", ["issuer", "token endpoint"])
def test_the_audience_may_be_the_issuer_or_the_token_endpoint(http, client, audience):
    aud = http.base if audience == "issuer" else http.base + "/token"

    response = token_with(http, assertion(http, client, aud=aud))

    assert response.status_code == 200, response.text


def test_an_ec_key_from_the_set_works_too(http, client):
    response = token_with(http, assertion(http, client, key=EC_KEY, alg="ES256"))

    assert response.status_code == 200, response.text


def test_an_ed25519_key_signs_as_ed25519_not_as_the_deprecated_eddsa(http, make_client, snapshot):
    """RFC 9864: `Ed25519` is the name; `EdDSA`, deprecated, is refused as for our own keys."""
    okp = OKPKey.generate_key("Ed25519", parameters={"kid": "client-key-3"})
    client = make_client(
        auth_method="private_key_jwt",
        grant_types=["client_credentials"],
        redirect_uris=[],
        jwks={"keys": [okp.as_dict(private=False)]},
    )

    accepted = token_with(http, assertion(http, client, key=okp, alg="Ed25519"))
    before = snapshot()
    with pytest.warns(SecurityWarning, match="RFC 9864"):  # joserfc warns the signer
        deprecated = assertion(http, client, key=okp, alg="EdDSA")
    refused = token_with(http, deprecated)

    assert accepted.status_code == 200, accepted.text
    assert_refused(refused)
    assert snapshot() == before


def test_a_stock_client_runs_the_code_flow_with_private_key_jwt(server, browser, make_user, client):
    """Authlib's PrivateKeyJWT signs without `kid`: the key is found by its type."""
    make_user()
    token_endpoint = server.url + "/token"
    session = OAuth2Session(
        client.client_id,
        KEY,
        scope="openid offline_access",
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="private_key_jwt",
    )
    session.register_client_auth_method(PrivateKeyJWT(token_endpoint))
    verifier = "v" * 64
    url, _ = session.create_authorization_url(server.url + "/authorize", code_verifier=verifier)
    callback = follow(browser, url, sign_in=("ada@example.com", PASSWORD))

    token = session.fetch_token(
        token_endpoint, authorization_response=callback, code_verifier=verifier
    )
    renewed = session.refresh_token(token_endpoint)

    assert claims_of(server, token["id_token"])["aud"] == client.client_id
    assert renewed["refresh_token"] != token["refresh_token"]


def test_an_assertion_signed_by_another_key_is_refused(http, client, snapshot):
    before = snapshot()

    response = token_with(http, assertion(http, client, key=OTHER_KEY))

    assert_refused(response)
    assert snapshot() == before


def test_an_expired_assertion_is_refused(http, client, snapshot):
    before = snapshot()
    past = int(time.time()) - 600

    response = token_with(http, assertion(http, client, iat=past - 60, exp=past))

    assert_refused(response)
    assert snapshot() == before


def test_an_assertion_for_another_audience_is_refused(http, client, snapshot):
    before = snapshot()

    response = token_with(http, assertion(http, client, aud="https://other.example/token"))

    assert_refused(response)
    assert snapshot() == before


def test_a_replayed_assertion_is_refused(http, client, snapshot):
    signed = assertion(http, client)
    assert token_with(http, signed).status_code == 200
    before = snapshot()

    replay = token_with(http, signed)

    assert_refused(replay)
    assert "used" in replay.json()["error_description"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "claims",
    [{"jti": None}, {"exp": None}, {"iss": "someone-else"}],
    ids=["no jti", "no exp", "iss is not sub"],
)
def test_an_incomplete_assertion_is_refused(http, client, snapshot, claims):
    before = snapshot()

    response = token_with(http, assertion(http, client, **claims))

    assert_refused(response)
    assert snapshot() == before


def test_a_symmetric_signature_is_refused(http, client, snapshot):
    """Only asymmetric algorithms: an HMAC keyed with public key material proves nothing."""
    before = snapshot()
    hmac_key = OctKey.import_key(KEY.as_dict(private=False)["n"], parameters={"kid": KEY.kid})

    response = token_with(http, assertion(http, client, key=hmac_key, alg="HS256"))

    assert_refused(response)
    assert snapshot() == before


def test_an_assertion_for_an_unknown_client_is_refused(http, client, snapshot):
    before = snapshot()
    signed = assertion(http, client, iss="no-such-client", sub="no-such-client")

    response = token_with(http, signed)

    assert_refused(response)
    assert snapshot() == before


def test_a_secret_client_cannot_use_an_assertion(http, make_client, snapshot):
    """RFC 7591 §2: the client authenticates with the method it registered."""
    secret_client = make_client(grant_types=["client_credentials"], redirect_uris=[])
    before = snapshot()

    response = token_with(http, assertion(http, secret_client))

    assert_refused(response)
    assert snapshot() == before


def test_a_private_key_jwt_client_cannot_use_a_secret(http, client, snapshot):
    before = snapshot()

    response = http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, "guessed"),
        timeout=5,
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert snapshot() == before


@pytest.mark.settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_assertions_are_refused_while_the_replay_store_is_down(http, client, snapshot):
    """Fail closed: without the store, a replay could not be detected."""
    before = snapshot()

    response = token_with(http, assertion(http, client))

    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert snapshot() == before
