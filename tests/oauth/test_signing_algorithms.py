"""Every signing algorithm works end to end with stock clients, without warnings.

RFC 7518 §3.3 (RS256) and §3.4 (ES256); RFC 8037 §3.1 with RFC 9864's fully specified name
`Ed25519` (the polymorphic `EdDSA` is deprecated, and joserfc warns about it); OpenID Connect
Discovery 1.0 §3 (`id_token_signing_alg_values_supported` names what the ID tokens are signed
with) and Core §3.1.3.7 (the client checks the signature with the keys from `jwks_uri`).
Warnings are errors here, so a deprecated algorithm on either side fails the test.
"""

from __future__ import annotations

import pytest
from authlib.integrations.flask_client import OAuth
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.oauth.discovery import metadata
from tests.oauth.issued import issue, refresh

pytestmark = pytest.mark.filterwarnings("error")
ALGORITHMS = ["RS256", "ES256", "Ed25519"]


@pytest.fixture(params=ALGORITHMS)
def alg(request, env, tmp_path) -> str:
    """A key folder of its own, whose first key is made with this algorithm."""
    env["IDP_KEYS_DIR"] = str(tmp_path / "keys")
    env["IDP_SIGNING_ALG"] = request.param
    return str(request.param)


def test_discovery_names_only_what_the_keys_sign_with():
    document = metadata("https://id.example")

    assert document["id_token_signing_alg_values_supported"] == ALGORITHMS
    assert "EdDSA" not in document["token_endpoint_auth_signing_alg_values_supported"]


def test_a_stock_client_verifies_the_tokens(alg, server, browser, make_user, make_client):
    """Authlib's OpenID Connect client checks the ID token as it always does: signature with the
    JWKS, algorithm from discovery, iss, aud, nonce and at_hash; the access token verifies
    against the JWKS alone."""
    make_user()
    client = make_client()
    token = issue(server, browser, client, nonce="n-1")
    renewed = refresh(server, client, token["refresh_token"]).json()
    relying_party = OAuth(Flask("relying-party"))
    remote = relying_party.register(
        "idp",
        client_id=client.client_id,
        client_secret=client.client_secret,
        server_metadata_url=server.url + "/.well-known/openid-configuration",
    )

    user = remote.parse_id_token(token, nonce="n-1")

    assert user["sub"] and user["aud"] == client.client_id
    jwks = server.get("/jwks.json").json()
    assert [key["alg"] for key in jwks["keys"]] == [alg]
    keys = KeySet.import_key_set(jwks)
    for signed in (token["access_token"], token["id_token"], renewed["id_token"]):
        decoded = jwt.decode(signed, keys, algorithms=[alg])
        assert decoded.header["alg"] == alg
        assert decoded.claims["iss"] == server.url
