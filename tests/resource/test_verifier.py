"""A resource server accepting our access tokens: idp.resource against the live provider.

RFC 9068 §4 (validating JWT access tokens: `typ` at+jwt, issuer, audience, lifetime, scope,
asymmetric signature from the issuer's JWKS), RFC 6750 §3 (the `WWW-Authenticate` challenge
and its `invalid_token` / `insufficient_scope` errors, no error without a token), RFC 9728 §2,
§3.1 and §5.1 (protected resource metadata, its well-known path, `resource_metadata` in the
challenge).

Our provider issues `aud` = the issuer until RFC 8707 resource indicators land, so the tests
that use its tokens as they come opt in with `accept_issuer_audience=True`; audience binding
itself is checked with tokens signed by the provider's own key for resources A and B.
"""

from __future__ import annotations

import time

import pytest
import requests
from flask import Flask, g
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from joserfc.jws import extract_compact

from idp.db import db
from idp.keys import app_keys
from idp.oauth.models import Client
from idp.resource import BearerError, IssuerUnavailable, ResourceServer, require, serve_metadata
from tests.helpers.waiting import wait_until
from tests.oauth.issued import issue
from tests.oauth.test_userinfo import ADA

RESOURCE_A = "https://a.example.com/notes"
RESOURCE_B = "https://b.example.com/notes"


def client_credentials_token(server, client, scope="profile email") -> str:
    response = requests.post(
        server.url + "/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client.client_id, client.client_secret),
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def signed_by_provider(server, **overrides) -> str:
    """An access token signed with the provider's active key, with claims of our choosing."""
    now = int(time.time())
    claims = {
        "iss": server.url,
        "sub": "svc",
        "client_id": "svc",
        "aud": RESOURCE_A,
        "scope": "notes:read",
        "iat": now,
        "exp": now + 300,
        "jti": "t.1",
        **overrides,
    }
    with server.app.app_context():
        key = app_keys().signing_key()
    return jwt.encode({"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}, claims, key.key)


def refused(api: ResourceServer, token: str, scopes=()) -> BearerError:
    with pytest.raises(BearerError) as caught:
        api.verify(token, scopes)
    return caught.value


@pytest.fixture
def api(server) -> ResourceServer:
    return ResourceServer(server.url, RESOURCE_A, ["profile", "email"], accept_issuer_audience=True)


@pytest.fixture
def service(make_client):
    return make_client(grant_types=["client_credentials"], redirect_uris=[])


def test_a_real_access_token_verifies(server, api, service):
    claims = api.verify(client_credentials_token(server, service), ["profile"])

    assert claims.sub == service.client_id  # client_credentials: the client is the subject
    assert claims.client_id == service.client_id
    assert claims.scopes == ("profile", "email")
    assert claims.audience == (server.url,)
    assert claims.expires_at > time.time()
    assert claims.raw["iss"] == server.url
    assert api.jwks_fetches == 1


def test_the_issuer_audience_is_refused_unless_accepted(server, service):
    strict = ResourceServer(server.url, RESOURCE_A)

    error = refused(strict, client_credentials_token(server, service))

    assert (error.error, error.status) == ("invalid_token", 401)
    assert error.description == "The token is not meant for this resource."


def test_a_token_for_resource_b_is_refused_at_resource_a(server):
    a = ResourceServer(server.url, RESOURCE_A, accept_issuer_audience=True)
    b = ResourceServer(server.url, RESOURCE_B, accept_issuer_audience=True)
    for_b = signed_by_provider(server, aud=[RESOURCE_B, "https://other.example.com"])

    assert b.verify(for_b).audience == (RESOURCE_B, "https://other.example.com")
    assert refused(a, for_b).description == "The token is not meant for this resource."


def test_an_expired_token_is_refused(server, service, clock):
    with server.app.app_context():
        db.session.query(Client).filter_by(client_id=service.client_id).update(
            {"access_token_ttl": 1}
        )
        db.session.commit()
    token = client_credentials_token(server, service)
    clock.advance(2.1)
    api = ResourceServer(server.url, RESOURCE_A, accept_issuer_audience=True, leeway=0)

    error = refused(api, token)

    assert (error.error, error.description) == ("invalid_token", "The token has expired.")


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        # Times are seconds from when the test runs, not from when it was collected.
        ({"exp": -60}, "The token has expired."),  # past the 30 s leeway
        ({"iat": 600}, "The token is issued in the future."),
        ({"iss": "https://evil.example.com"}, "The token is from another issuer."),
        ({"client_id": None}, "The token names no client."),
    ],
)
def test_claims_outside_rfc_9068_are_refused(server, overrides, description):
    api = ResourceServer(server.url, RESOURCE_A)
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "iat") else v for k, v in overrides.items()}

    error = refused(api, signed_by_provider(server, **claims))

    assert (error.error, error.description) == ("invalid_token", description)


def test_a_tampered_token_is_refused(server, api, service):
    header, payload, signature = client_credentials_token(server, service).split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]

    error = refused(api, ".".join([header, flipped, signature]))

    assert error.error == "invalid_token"
    assert error.description == "The token's signature is invalid."


def test_an_id_token_is_not_an_access_token(server, browser, make_user, make_client, api):
    """RFC 9068 §4: `typ` must be at+jwt; an ID token (typ JWT) is refused."""
    make_user(ADA[0])
    id_token = issue(server, browser, make_client(), scope="openid profile email")["id_token"]

    error = refused(api, id_token)

    assert error.error == "invalid_token"
    assert error.description == "The token is not an access token."


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
def test_garbage_is_refused(api, token):
    error = refused(api, token)

    assert error.status == 401
    assert error.error == (None if token == "" else "invalid_token")


def test_symmetric_and_unsigned_tokens_are_refused(server, api):
    claims = {"iss": server.url, "aud": server.url, "sub": "x", "client_id": "x", "scope": ""}
    hs256 = jwt.encode({"alg": "HS256", "typ": "at+jwt"}, claims, OctKey.generate_key(256))
    payload = hs256.split(".")[1]
    unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + payload + "."  # alg none, at+jwt

    for token in (hs256, unsigned):
        error = refused(api, token)
        assert error.description == "The token's algorithm is not accepted."


def test_a_missing_scope_is_insufficient_scope(server, api, service):
    token = client_credentials_token(server, service, scope="profile")

    error = refused(api, token, ["profile", "email"])

    assert (error.error, error.status) == ("insufficient_scope", 403)
    assert 'scope="profile email"' in error.www_authenticate()


def test_the_challenge_names_the_metadata_and_the_error(server, api):
    error = refused(api, "not-a-jwt", ["notes:read"])

    assert error.www_authenticate() == (
        f'Bearer realm="{RESOURCE_A}", '
        'resource_metadata="https://a.example.com/.well-known/oauth-protected-resource/notes", '
        'error="invalid_token", error_description="The token is not a signed JWT.", '
        'scope="notes:read"'
    )


def test_no_token_is_a_challenge_without_error(api):
    """RFC 6750 §3.1: a request without authentication gets no error code."""
    challenge = refused(api, "").www_authenticate()

    assert challenge.startswith(f'Bearer realm="{RESOURCE_A}", resource_metadata="')
    assert "error" not in challenge


def test_metadata_and_its_well_known_path(server):
    at_root = ResourceServer(server.url, "https://api.example.com/", ["notes:read"])
    with_path = ResourceServer(server.url, RESOURCE_A)

    assert at_root.metadata() == {
        "resource": "https://api.example.com/",
        "authorization_servers": [server.url],
        "scopes_supported": ["notes:read"],
        "bearer_methods_supported": ["header"],
    }
    assert at_root.metadata_path() == "/.well-known/oauth-protected-resource"
    assert with_path.metadata_path() == "/.well-known/oauth-protected-resource/notes"


@pytest.fixture
def own_keys(env, tmp_path):
    """This test rotates keys, so it gets a key folder of its own."""
    env["IDP_KEYS_DIR"] = str(tmp_path / "keys")
    return env


def test_an_unknown_kid_refetches_the_jwks_once(own_keys, server, api, service):
    before = client_credentials_token(server, service)
    api.verify(before)
    with server.app.app_context():
        rotated = app_keys().rotate(activate_after=0)
    wait_until(
        lambda: rotated.kid in requests.get(server.url + "/jwks.json", timeout=5).text,
        what="the new key published",
    )
    after = client_credentials_token(server, service)

    claims = api.verify(after)

    assert kid_of(after) != kid_of(before)  # signed by the key the cached JWKS lacked
    assert claims.client_id == service.client_id
    assert api.jwks_fetches == 2


def kid_of(token: str) -> str:
    return extract_compact(token.encode()).headers()["kid"]


def test_made_up_kids_refetch_at_most_once(server, api):
    forged_key = RSAKey.generate_key(2048, parameters={"kid": "made-up"})
    claims = {"iss": server.url, "aud": server.url, "sub": "x", "client_id": "x", "scope": ""}
    forged = jwt.encode({"alg": "RS256", "kid": "made-up", "typ": "at+jwt"}, claims, forged_key)

    errors = [refused(api, forged) for _ in range(3)]

    assert {error.description for error in errors} == {"The token's signature is invalid."}
    assert api.jwks_fetches == 2  # the first fetch, then one refetch for the unknown kid


def test_an_unreachable_issuer_is_not_a_bad_token(server, service):
    api = ResourceServer(server.url + "/nowhere", RESOURCE_A, accept_issuer_audience=True)

    with pytest.raises(IssuerUnavailable):
        api.verify(client_credentials_token(server, service))


def notes_app(api: ResourceServer) -> Flask:
    app = Flask("notes")
    serve_metadata(app, api)

    @app.get("/notes")
    @require(api, "profile")
    def notes():
        return {"owner": g.claims.sub}

    @app.get("/notes/secret")
    @require(api, "notes:admin")
    def secret():
        return {"owner": g.claims.sub}

    return app


def test_a_flask_api_protected_with_require(server, api, service):
    client = notes_app(api).test_client()
    token = client_credentials_token(server, service)
    bearer = {"Authorization": "Bearer " + token}

    ok = client.get("/notes", headers=bearer)
    anonymous = client.get("/notes")
    wrong_scheme = client.get("/notes", headers={"Authorization": "Basic " + token})
    forbidden = client.get("/notes/secret", headers=bearer)
    metadata = client.get("/.well-known/oauth-protected-resource/notes")

    assert (ok.status_code, ok.json) == (200, {"owner": service.client_id})
    for response in (anonymous, wrong_scheme):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == (
            f'Bearer realm="{RESOURCE_A}", resource_metadata='
            '"https://a.example.com/.well-known/oauth-protected-resource/notes", scope="profile"'
        )
    assert forbidden.status_code == 403
    assert forbidden.json["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in forbidden.headers["WWW-Authenticate"]
    assert 'scope="notes:admin"' in forbidden.headers["WWW-Authenticate"]
    assert metadata.json == api.metadata()
