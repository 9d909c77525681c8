"""Verified access tokens are remembered (idp.oauth.tokens.VerifiedTokens), never beyond what
verifying again would say: expiry is checked on every use, a key set that changed forgets
them, a token that failed stays refused, and callers get copies of the claims."""

from __future__ import annotations

import time

from joserfc import jwt

from idp.keys import jwk
from idp.oauth.tokens import VerifiedTokens
from tests.conftest import PASSWORD
from tests.oauth.issued import issue

ISSUER = "https://idp.example"


def signed(key, **claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "exp": now + 60, "iat": now, "jti": "f.1", **claims}
    return jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, body, key)


def key_set(*keys):
    return jwk.key_set([key.as_dict(private=False) for key in keys])


def test_a_token_verifies_only_under_a_key_set_that_holds_its_key():
    first, second = jwk.generate("ES256"), jwk.generate("ES256")
    token, verified = signed(first), VerifiedTokens(ISSUER)

    assert verified.get(token, "at+jwt", key_set(first, second))["jti"] == "f.1"
    assert verified.get(token, "at+jwt", key_set(second)) is None  # its key was removed
    assert verified.get(token, "JWT", key_set(first)) is None  # another type of token


def test_what_failed_stays_refused_and_claims_are_copies():
    key = jwk.generate("ES256")
    keys, verified = key_set(key), VerifiedTokens(ISSUER)
    token = signed(key)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    foreign = signed(key, iss="https://elsewhere.example")

    assert verified.get(tampered, "at+jwt", keys) is None
    assert verified.get(tampered, "at+jwt", keys) is None
    assert verified.get(foreign, "at+jwt", keys) is None
    verified.get(token, "at+jwt", keys)["scope"] = "admin"
    assert "scope" not in verified.get(token, "at+jwt", keys)


def test_the_number_kept_is_bounded():
    key = jwk.generate("ES256")
    keys, verified = key_set(key), VerifiedTokens(ISSUER, max_entries=3)
    tokens = [signed(key, jti=f"f.{n}") for n in range(10)]

    assert all(verified.get(token, "at+jwt", keys) for token in tokens)
    assert len(verified._claims) <= 3


def test_a_token_used_once_still_expires(http, browser, make_user, make_client, clock):
    make_user("ada@example.com", PASSWORD)
    client = make_client()
    token = issue(http, browser, client, scope="openid profile")["access_token"]
    bearer = {"Authorization": "Bearer " + token}
    assert http.get("/userinfo", headers=bearer, timeout=5).status_code == 200

    clock.advance(3601)  # past the access token's lifetime (an hour)

    response = http.get("/userinfo", headers=bearer, timeout=5)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
