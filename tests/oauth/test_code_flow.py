"""The authorization code flow end to end, driven by Authlib's own OAuth client.

OpenID Connect Core §3.1 (code flow), RFC 7636 (PKCE), RFC 9207 (`iss` in the response),
RFC 9068 (JWT access tokens).
"""

from __future__ import annotations

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import PASSWORD
from tests.oauth.conftest import follow, query_of


def test_a_stock_client_signs_a_user_in(server, browser, make_user, make_client):
    make_user("ada@example.com", name="Ada Lovelace")
    client = make_client()
    metadata = requests.get(server.url + "/.well-known/openid-configuration", timeout=5).json()
    session = OAuth2Session(
        client.client_id,
        client.client_secret,
        scope="openid profile email offline_access",
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-0S6_WzA2Mj"
    )

    callback = follow(browser, url, sign_in=("ada@example.com", PASSWORD))

    params = query_of(callback)
    assert params["state"] == state
    assert params["iss"] == server.url  # RFC 9207 §2
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
    id_token = jwt.decode(token["id_token"], keys)
    assert id_token.header["kid"]
    assert id_token.claims["iss"] == server.url
    assert id_token.claims["aud"] == client.client_id
    assert id_token.claims["nonce"] == "n-0S6_WzA2Mj"
    assert id_token.claims["amr"] == ["pwd"]
    access = jwt.decode(token["access_token"], keys)
    assert access.header["typ"] == "at+jwt"  # RFC 9068 §2.1
    assert access.claims["client_id"] == client.client_id
    assert "refresh_token" in token
    info = session.get(metadata["userinfo_endpoint"]).json()
    assert info["sub"] == id_token.claims["sub"]
    assert info["name"] == "Ada Lovelace"
    assert info["email"] == "ada@example.com"
