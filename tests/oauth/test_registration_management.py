"""Managing a registered client with its registration access token at /register/<client_id>.

RFC 7592 §2 (the registration access token, and invalid_token when it is missing or wrong),
§2.1 (read), §2.2 (update replaces the metadata; client_id and client_secret must match; the
server's own fields must not be sent), §2.3 (delete, and the client's tokens stop working),
§3 (the client information response); RFC 6750 §3.1.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from tests.conftest import PASSWORD
from tests.oauth.conftest import REDIRECT_URI, RegisteredClient, authorize_url, follow, pkce
from tests.oauth.conftest import query_of as params_of

ADA = ("ada@example.com", PASSWORD)
NEW_REDIRECT = "https://printer.example/callback"


def register(http, **metadata: Any) -> dict[str, Any]:
    body = {"client_name": "Photo Printer", "redirect_uris": [REDIRECT_URI], **metadata}
    response = http.post("/register", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def call(
    http: Any,
    method: str,
    info: dict[str, Any],
    token: str | None = "",
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """`token=""` sends the client's own registration access token; None sends none."""
    token = info["registration_access_token"] if token == "" else token
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    path = info["registration_client_uri"].removeprefix(http.base)
    return http.request(method, path, headers=headers, timeout=5, **kwargs)


def events(http, name: str) -> list[str | None]:
    with http.app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == name))
        return [row.subject for row in rows]


def assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.headers["Cache-Control"] == "no-store"


def test_reading_returns_what_was_registered(http):
    info = register(http, client_uri="https://printer.example")

    response = call(http, "GET", info)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    read = response.json()
    assert read == {k: v for k, v in info.items() if k != "client_secret"}
    assert read["registration_access_token"] == info["registration_access_token"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "token",
    [None, "not-the-registration-token", "other client"],
    ids=["missing", "wrong", "another client's"],
)
def test_a_missing_or_wrong_token_is_refused(http, snapshot, method, token):
    info = register(http)
    other = register(http, client_name="Other")
    token = other["registration_access_token"] if token == "other client" else token
    before = snapshot()

    response = call(
        http, method, info, token, json={"client_id": info["client_id"], "client_name": "X"}
    )

    assert_invalid_token(response)
    assert snapshot() == before


def test_an_unknown_client_looks_the_same_as_a_wrong_token(http):
    info = register(http)
    unknown = {**info, "registration_client_uri": http.base + "/register/no-such-client"}

    assert_invalid_token(call(http, "GET", unknown))


def test_a_client_created_by_an_operator_has_no_registration_token(http, make_client):
    client = make_client()
    info = {
        "registration_client_uri": f"{http.base}/register/{client.client_id}",
        "registration_access_token": "anything-at-all",
    }

    assert_invalid_token(call(http, "GET", info))


def test_an_update_replaces_the_metadata(http):
    info = register(http, client_uri="https://printer.example", scope="openid email")

    response = call(
        http,
        "PUT",
        info,
        json={
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "client_name": "Photo Printer 2",
            "redirect_uris": [NEW_REDIRECT],
        },
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["client_name"] == "Photo Printer 2"
    assert updated["redirect_uris"] == [NEW_REDIRECT]
    assert "client_uri" not in updated  # omitted fields are deleted (RFC 7592 §2.2)
    # ...or take their defaults
    assert updated["scope"] == "openid profile email offline_access organization"
    assert "client_secret" not in updated  # the secret is unchanged, so not shown again
    assert call(http, "GET", info).json() == updated
    assert events(http, "client_updated") == [info["client_id"]]


def test_the_old_secret_still_works_after_an_update(http):
    info = register(http, grant_types=["authorization_code", "client_credentials"])
    call(
        http,
        "PUT",
        info,
        json={
            "client_id": info["client_id"],
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )

    response = http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
        },
        timeout=5,
    )

    assert response.status_code == 200, response.text


def test_a_public_client_that_becomes_confidential_gets_a_secret(http):
    info = register(http, token_endpoint_auth_method="none")

    response = call(
        http, "PUT", info, json={"client_id": info["client_id"], "redirect_uris": [REDIRECT_URI]}
    )

    assert response.status_code == 200
    updated = response.json()
    assert updated["token_endpoint_auth_method"] == "client_secret_basic"
    assert updated["client_secret"] and updated["client_secret_expires_at"] == 0


def test_a_confidential_client_that_becomes_public_loses_its_secret(http):
    info = register(http)

    response = call(
        http,
        "PUT",
        info,
        json={
            "client_id": info["client_id"],
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
        },
    )

    assert response.status_code == 200
    assert "client_secret_expires_at" not in response.json()
    token = http.post(
        "/token",
        auth=(info["client_id"], info["client_secret"]),
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI},
        timeout=5,
    )
    assert token.json()["error"] == "invalid_client"


UPDATE_ERRORS = {
    "no client_id": ({"client_id": None}, "invalid_request"),
    "another client_id": ({"client_id": "someone-else"}, "invalid_request"),
    "a wrong client_secret": ({"client_secret": "wrong"}, "invalid_request"),
    "a numeric client_secret": ({"client_secret": 12345}, "invalid_request"),
    "registration_access_token": ({"registration_access_token": "x"}, "invalid_request"),
    "registration_client_uri": ({"registration_client_uri": "https://x"}, "invalid_request"),
    "client_secret_expires_at": ({"client_secret_expires_at": 0}, "invalid_request"),
    "client_id_issued_at": ({"client_id_issued_at": 0}, "invalid_request"),
    "a fragment": ({"redirect_uris": ["https://a.example/#x"]}, "invalid_redirect_uri"),
    "the implicit grant": ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
    "an unknown scope": ({"scope": "root"}, "invalid_client_metadata"),
}


@pytest.mark.parametrize(("change", "error"), UPDATE_ERRORS.values(), ids=UPDATE_ERRORS.keys())
def test_a_bad_update_is_refused_and_changes_nothing(http, snapshot, change, error):
    info = register(http)
    body = {"client_id": info["client_id"], "redirect_uris": [REDIRECT_URI], **change}
    body = {key: value for key, value in body.items() if value is not None}
    before = snapshot()

    response = call(http, "PUT", info, json=body)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"
    assert snapshot() == before
    assert events(http, "client_updated") == []


def test_an_update_that_is_no_json_object_is_refused(http, snapshot):
    info = register(http)
    before = snapshot()

    response = call(http, "PUT", info, data="{oops", headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert snapshot() == before


def test_deleting_removes_the_client_and_ends_its_tokens(http, browser, make_user):
    make_user(ADA[0])
    info = register(http, token_endpoint_auth_method="none", scope="openid offline_access")
    client = RegisteredClient(info["client_id"], None)
    verifier, challenge = pkce()
    callback = follow(browser, authorize_url(client, challenge, scope="openid"), sign_in=ADA)
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
    ).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get("/userinfo", headers=bearer, timeout=5).status_code == 200

    response = call(http, "DELETE", info)

    assert response.status_code == 204
    assert response.headers["Cache-Control"] == "no-store"
    assert_invalid_token(call(http, "GET", info))  # RFC 7592 §2.3: the token dies with the client
    assert http.get("/userinfo", headers=bearer, timeout=5).status_code == 401
    assert events(http, "client_deleted") == [info["client_id"]]


@pytest.mark.settings(IDP_REGISTRATION="off")
def test_off_mode_has_no_management_endpoint(http, make_client):
    client = make_client()

    response = http.get(f"/register/{client.client_id}", timeout=5)

    assert response.status_code == 404
    assert response.json()["error"] == "invalid_request"
