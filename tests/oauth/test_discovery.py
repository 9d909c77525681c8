"""Discovery and JWKS: OpenID Connect Discovery 1.0 §3/§4, RFC 8414 §2/§3, RFC 7517 §5."""

from __future__ import annotations

import json

import requests

from tests.conftest import LiveServer

REQUIRED = [  # OpenID Connect Discovery 1.0 §3, plus what the issue and MCP clients check
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "scopes_supported",
    "claims_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "authorization_response_iss_parameter_supported",
]


def test_openid_configuration(http):
    response = http.get("/.well-known/openid-configuration", timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert "max-age=" in response.headers["Cache-Control"]
    metadata = response.json()
    assert [name for name in REQUIRED if name not in metadata] == []
    assert metadata["issuer"] == http.base
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "openid" in metadata["scopes_supported"]


def test_rfc8414_metadata_is_the_same_document(http):
    oidc = http.get("/.well-known/openid-configuration", timeout=5).json()
    oauth = http.get("/.well-known/oauth-authorization-server", timeout=5).json()

    assert oauth == oidc


def test_jwks_publishes_public_keys_only(http):
    response = http.get("/jwks.json", timeout=5)

    assert response.status_code == 200
    assert "max-age=" in response.headers["Cache-Control"]
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert {"kid", "use", "alg", "kty"} <= set(key)
        assert key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # RFC 7518 §6.3.2


def test_an_issuer_with_a_path(env):
    """RFC 8414 §3.1: the well-known segment goes between host and path; OIDC Discovery §4
    appends it to the issuer. Both must serve the same metadata."""
    server = LiveServer(dict(env), issuer_path="/tenant")
    try:
        issuer = server.url + "/tenant"
        appended = requests.get(issuer + "/.well-known/openid-configuration", timeout=5)
        inserted = requests.get(
            server.url + "/.well-known/oauth-authorization-server/tenant", timeout=5
        )
        inserted_oidc = requests.get(
            server.url + "/.well-known/openid-configuration/tenant", timeout=5
        )
        jwks = requests.get(appended.json()["jwks_uri"], timeout=5)
        sign_in = requests.get(issuer + "/sign-in", timeout=5)
        unrelated = requests.get(
            server.url + "/.well-known/oauth-authorization-server/other", timeout=5
        )
    finally:
        server.stop()

    assert appended.json()["issuer"] == issuer
    assert json.loads(inserted.content) == appended.json()
    assert json.loads(inserted_oidc.content) == appended.json()
    assert appended.json()["authorization_endpoint"] == issuer + "/authorize"
    assert jwks.status_code == 200
    assert 'action="/tenant/sign-in"' in sign_in.text
    assert unrelated.status_code == 404
