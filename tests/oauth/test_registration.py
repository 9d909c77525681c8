"""Dynamic client registration at POST /register.

RFC 7591 §2 (client metadata and its defaults), §2.1 (grant and response types agree), §3 (the
registration request, and the initial access token), §3.2.1 (the client information
response), §3.2.2 (error codes); RFC 6750 §3.1 (invalid_token); RFC 8414 §2
(registration_endpoint in the metadata).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import RSAKey
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.oauth.clients import find_client
from idp.settings import Settings, SettingsError
from tests.conftest import PASSWORD, SECRET
from tests.oauth.conftest import REDIRECT_URI, RegisteredClient, authorize_url, follow, pkce
from tests.oauth.conftest import query_of as params_of

ADA = ("ada@example.com", PASSWORD)
INITIAL_TOKEN = "initial-access-token-for-tests"
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
PUBLIC_KEY = SIGNING_KEY.as_dict(private=False)


def register(http, body: Any = None, **kwargs: Any) -> requests.Response:
    if body is not None:
        kwargs["json"] = body
    return http.post("/register", timeout=5, **kwargs)


def stored(http, client_id: str) -> dict[str, Any] | None:
    with http.app.app_context():
        client = find_client(client_id)
        if client is None:
            return None
        return {
            "dynamic": client.dynamic,
            "first_party": client.first_party,
            "secret_hash": client.secret_hash,
            "registration_token_hash": client.registration_token_hash,
            "name": client.name,
        }


def events(http, name: str) -> list[AuditEvent]:
    with http.app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_discovery_names_the_registration_endpoint(http):
    metadata = http.get("/.well-known/openid-configuration", timeout=5).json()

    assert metadata["registration_endpoint"] == http.base + "/register"


def test_a_public_client_registers_and_signs_a_user_in(http, browser, make_user):
    make_user(ADA[0])
    response = register(
        http,
        {
            "client_name": "Pocket CLI",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile offline_access",
            "software_id": "ignored-because-unknown",
        },
    )

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    info = response.json()
    assert info["client_name"] == "Pocket CLI"
    assert info["redirect_uris"] == [REDIRECT_URI]
    assert info["token_endpoint_auth_method"] == "none"
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    assert info["response_types"] == ["code"]
    assert info["scope"] == "openid profile offline_access"
    assert isinstance(info["client_id_issued_at"], int)
    assert info["registration_client_uri"] == f"{http.base}/register/{info['client_id']}"
    assert "client_secret" not in info and "client_secret_expires_at" not in info
    assert "software_id" not in info  # RFC 7591 §2: unknown metadata is ignored
    row = stored(http, info["client_id"])
    assert row == {
        "dynamic": True,
        "first_party": False,
        "secret_hash": None,
        "registration_token_hash": sha256(info["registration_access_token"]),
        "name": "Pocket CLI",
    }
    assert [e.subject for e in events(http, "client_created")] == [info["client_id"]]

    client = RegisteredClient(info["client_id"], None)
    verifier, challenge = pkce()
    browser.sign_in(*ADA)
    consent = browser.get(authorize_url(client, challenge, scope="openid offline_access"))
    page = browser.get(consent.headers["Location"]).text
    assert "This app registered itself" in page
    assert "127.0.0.1:9" in page  # the consent page shows where the answer goes
    callback = follow(browser, consent.headers["Location"])
    tokens = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": params_of(callback)["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client.client_id,
            "code_verifier": verifier,
        },
        timeout=5,
    )
    assert tokens.status_code == 200, tokens.text
    refreshed = http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens.json()["refresh_token"],
            "client_id": client.client_id,
        },
        timeout=5,
    )
    assert refreshed.status_code == 200, refreshed.text


def test_a_registered_scope_does_not_cap_what_a_self_registered_client_asks_later(
    http, browser, make_user, make_client
):
    """RFC 7591 §2 `scope`: a client that registered itself chose that list, so it limits
    nothing; it may later ask for another supported scope, and consent decides. MCP clients
    step up this way without registering again (MCP authorization 2025-11-25)."""
    make_user(ADA[0])
    info = register(
        http,
        {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none", "scope": "profile"},
    ).json()
    client = RegisteredClient(info["client_id"], None)
    browser.sign_in(*ADA)

    callback = follow(browser, authorize_url(client, pkce()[1], scope="profile email"))
    assert "code" in params_of(callback)
    unknown = follow(browser, authorize_url(client, pkce()[1], scope="profile wallet"))
    assert params_of(unknown)["error"] == "invalid_scope"  # supported scopes only
    # A client registered by an operator keeps the scopes it was given (RFC 6749 §3.3).
    managed = make_client(scopes=["openid", "profile"])
    refused = follow(browser, authorize_url(managed, pkce()[1], scope="openid email"))
    assert params_of(refused)["error"] == "invalid_scope"


def test_a_confidential_client_registers_and_uses_its_secret(server, browser, make_user):
    make_user(ADA[0])
    response = register(
        server,
        {
            "client_name": "Photo Printer",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "client_credentials"],
            "client_uri": "https://printer.example",
            "logo_uri": "https://printer.example/logo.png",
            "post_logout_redirect_uris": ["https://printer.example/bye"],
        },
    )

    assert response.status_code == 201
    info = response.json()
    assert info["token_endpoint_auth_method"] == "client_secret_basic"  # RFC 7591 §2 default
    assert info["client_secret_expires_at"] == 0
    assert info["client_uri"] == "https://printer.example"
    assert info["logo_uri"] == "https://printer.example/logo.png"
    assert info["post_logout_redirect_uris"] == ["https://printer.example/bye"]
    assert info["scope"].split() == [
        "openid",
        "profile",
        "email",
        "offline_access",
        "organization",
    ]
    assert stored(server, info["client_id"])["secret_hash"] == sha256(info["client_secret"])

    session = OAuth2Session(
        info["client_id"],
        info["client_secret"],
        scope="openid email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    url, _ = session.create_authorization_url(server.url + "/authorize", code_verifier=verifier)
    callback = follow(browser, url, sign_in=ADA)
    token = session.fetch_token(
        server.url + "/token", authorization_response=callback, code_verifier=verifier
    )
    assert token["token_type"].lower() == "bearer" and "id_token" in token
    machine = OAuth2Session(info["client_id"], info["client_secret"])
    assert "access_token" in machine.fetch_token(
        server.url + "/token", grant_type="client_credentials"
    )


def test_a_client_without_a_name_is_named_after_its_redirect_host(http):
    response = register(http, {"redirect_uris": ["https://app.example/callback"]})

    assert response.status_code == 201
    assert response.json()["client_name"] == "app.example"


def test_a_machine_client_needs_no_redirect_uri(http):
    response = register(http, {"client_name": "Nightly job", "grant_types": ["client_credentials"]})

    assert response.status_code == 201
    info = response.json()
    assert info["redirect_uris"] == [] and info["response_types"] == []


def test_a_private_key_jwt_client_registers_its_public_keys(server):
    public = {"keys": [PUBLIC_KEY]}

    response = register(
        server,
        {
            "client_name": "Signer",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": public,
        },
    )

    assert response.status_code == 201
    info = response.json()
    assert info["jwks"] == public
    assert "client_secret" not in info
    session = OAuth2Session(
        info["client_id"],
        SIGNING_KEY.as_pem(private=True),
        token_endpoint_auth_method=PrivateKeyJWT(server.url + "/token"),
    )
    assert "access_token" in session.fetch_token(
        server.url + "/token", grant_type="client_credentials"
    )


REDIRECT_ERRORS = {
    "a fragment": {"redirect_uris": ["https://a.example/cb#x"]},
    "http on a public host": {"redirect_uris": ["http://a.example/cb"]},
    "a javascript: URI": {"redirect_uris": ["javascript:alert(1)"]},
    "no URI for the code grant": {"client_name": "No redirect"},
    "an empty list": {"redirect_uris": []},
}
METADATA_ERRORS = {
    "redirect_uris as a string": {"redirect_uris": REDIRECT_URI},
    "the implicit grant": {"grant_types": ["implicit"]},
    "the password grant": {"grant_types": ["password"]},
    "an unknown grant": {"grant_types": ["urn:example:magic"]},
    "the token response type": {"response_types": ["token"]},
    "code without its grant": {"grant_types": ["client_credentials"], "response_types": ["code"]},
    "an unknown scope": {"scope": "openid admin"},
    "scope as an array": {"scope": ["openid"]},
    "an unknown auth method": {"token_endpoint_auth_method": "client_secret_jwt"},
    "private_key_jwt without keys": {"token_endpoint_auth_method": "private_key_jwt"},
    "jwks with an unknown key type": {
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [{"kty": "nope"}]},
    },
    "jwks without keys": {"token_endpoint_auth_method": "private_key_jwt", "jwks": {}},
    "jwks as an array": {"token_endpoint_auth_method": "private_key_jwt", "jwks": []},
    "a symmetric key in jwks": {
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
    },
    "jwks beside jwks_uri": {
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [PUBLIC_KEY]},
        "jwks_uri": "https://a.example/jwks.json",
    },
    "a public client_credentials client": {
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "client_credentials"],
    },
    "a javascript: client_uri": {"client_uri": "javascript:alert(1)"},
    "an http logo": {"logo_uri": "http://a.example/logo.png"},
    "a blank client name": {"client_name": "   "},
    "a very long client name": {"client_name": "x" * 201},
    "a numeric client name": {"client_name": 42},
    "a fragment in a post-logout URI": {"post_logout_redirect_uris": ["https://a.example/#x"]},
}


def assert_refused(response: requests.Response, error: str) -> None:
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("metadata", REDIRECT_ERRORS.values(), ids=REDIRECT_ERRORS.keys())
def test_a_bad_redirect_uri_is_refused_and_nothing_is_stored(http, snapshot, metadata):
    before = snapshot()

    response = register(http, metadata)

    assert_refused(response, "invalid_redirect_uri")  # RFC 7591 §3.2.2
    assert snapshot() == before
    assert events(http, "client_created") == []


@pytest.mark.parametrize("metadata", METADATA_ERRORS.values(), ids=METADATA_ERRORS.keys())
def test_bad_metadata_is_refused_and_nothing_is_stored(http, snapshot, metadata):
    before = snapshot()

    response = register(http, {"redirect_uris": [REDIRECT_URI], **metadata})

    assert_refused(response, "invalid_client_metadata")  # RFC 7591 §3.2.2
    assert snapshot() == before
    assert events(http, "client_created") == []


def test_a_private_key_in_jwks_is_refused(http, snapshot):
    before = snapshot()
    private = RSAKey.generate_key(2048).as_dict(private=True)

    response = register(
        http,
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [private]},
        },
    )

    assert_refused(response, "invalid_client_metadata")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("null", "application/json"),
        ("redirect_uris=https%3A%2F%2Fa.example%2Fcb", "application/x-www-form-urlencoded"),
    ],
    ids=["malformed", "an array", "null", "a form"],
)
def test_a_body_that_is_no_json_object_is_refused(http, snapshot, content, content_type):
    before = snapshot()

    response = register(http, data=content, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert snapshot() == before


def test_a_redirect_uri_with_odd_characters_gets_a_clean_error(http, snapshot):
    before = snapshot()

    response = register(http, {"redirect_uris": ['https://a.example/"caf\u00e9"#x']})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert '"' not in response.json()["error_description"]  # RFC 6749 §5.2 character set
    assert snapshot() == before


@pytest.mark.settings(IDP_REGISTRATION="token", IDP_REGISTRATION_TOKEN=INITIAL_TOKEN)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-initial-access-token", f"Basic {INITIAL_TOKEN}", "Bearer "],
    ids=["missing", "wrong", "not bearer", "empty"],
)
def test_token_mode_refuses_a_missing_or_wrong_initial_token(http, snapshot, authorization):
    before = snapshot()
    headers = {"Authorization": authorization} if authorization else {}

    response = register(http, {"redirect_uris": [REDIRECT_URI]}, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert snapshot() == before


@pytest.mark.settings(IDP_REGISTRATION="token", IDP_REGISTRATION_TOKEN=INITIAL_TOKEN)
def test_token_mode_registers_with_the_initial_token(http):
    metadata = http.get("/.well-known/openid-configuration", timeout=5).json()

    response = register(
        http,
        {"redirect_uris": [REDIRECT_URI]},
        headers={"Authorization": f"Bearer {INITIAL_TOKEN}"},
    )

    assert metadata["registration_endpoint"] == http.base + "/register"
    assert response.status_code == 201
    assert response.json()["registration_access_token"] != INITIAL_TOKEN


@pytest.mark.settings(IDP_REGISTRATION="off")
def test_off_mode_has_no_registration_endpoint(http, snapshot):
    before = snapshot()
    metadata = http.get("/.well-known/openid-configuration", timeout=5).json()

    response = register(http, {"redirect_uris": [REDIRECT_URI]})

    assert "registration_endpoint" not in metadata
    assert response.status_code == 404
    assert response.json()["error"] == "invalid_request"
    assert snapshot() == before


@pytest.mark.settings(IDP_REGISTRATION_LIMIT="2 per minute")
def test_registrations_are_rate_limited_per_address(http, snapshot):
    for _ in range(2):
        assert register(http, {"redirect_uris": [REDIRECT_URI]}).status_code == 201
    before = snapshot()

    response = register(http, {"redirect_uris": [REDIRECT_URI]})

    assert response.status_code == 429
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert snapshot() == before


def settings_from(**values: str) -> Settings:
    return Settings.from_env({"IDP_SECRET_KEY": SECRET, **values})


def test_token_mode_needs_an_initial_token_to_start():
    with pytest.raises(SettingsError, match="IDP_REGISTRATION_TOKEN is required"):
        settings_from(IDP_REGISTRATION="token")


def test_a_short_initial_token_is_refused():
    with pytest.raises(SettingsError, match="IDP_REGISTRATION_TOKEN must be at least 16"):
        settings_from(IDP_REGISTRATION="token", IDP_REGISTRATION_TOKEN="short")


def test_an_unknown_registration_mode_is_refused():
    with pytest.raises(SettingsError, match="IDP_REGISTRATION must be one of open, token, off"):
        settings_from(IDP_REGISTRATION="closed")
