"""The scopes of registered resources are valid scopes, for every kind of client.

RFC 7591 §2 (a client registers the `scope` it will use), RFC 8707 §2 (the resource names the
audience and the scopes it accepts), RFC 8414 §2 (`scopes_supported`), RFC 6749 §3.3 and §5.2
(`invalid_scope`). An MCP client registers with the scopes of the server's RFC 9728 metadata
(MCP authorization 2025-11-25, "Scope Selection Strategy"); a scope that no registered
resource accepts is still refused, and so is one of a resource since deleted.
"""

from __future__ import annotations

import pytest

from idp.oauth.management import SCOPES
from idp.oauth.resources import create_resource, delete_resource
from tests.conftest import PASSWORD
from tests.oauth.conftest import (
    REDIRECT_URI,
    RegisteredClient,
    authorize_url,
    follow,
    pkce,
    query_of,
)
from tests.oauth.issued import claims_of, issue, post_as

NOTES = "https://notes.example.com/mcp"
ADA = ("ada@example.com", PASSWORD)


@pytest.fixture
def notes(app):
    with app.app_context():
        create_resource(NOTES, "Notes", {"notes:read": "Read notes", "notes:write": "Edit notes"})


def token_for(http, browser, client: RegisteredClient, scope: str) -> dict:
    """Authorize for the notes server with `scope` and redeem the code."""
    return issue(http, browser, client, scope=scope, email=ADA[0], resource=NOTES)


def test_a_client_registers_with_a_resources_scopes_and_gets_them(http, browser, make_user, notes):
    """RFC 7591 §2: the MCP SDKs register with the scopes the server's metadata lists."""
    make_user(ADA[0])

    response = http.post(
        "/register",
        json={
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "scope": "notes:read offline_access",
        },
        timeout=5,
    )

    assert response.status_code == 201, response.text
    info = response.json()
    assert info["scope"] == "notes:read offline_access"
    client = RegisteredClient(info["client_id"], None)
    body = token_for(http, browser, client, "notes:read notes:write offline_access")
    claims = claims_of(http, body["access_token"])
    assert (claims["aud"], claims["scope"]) == (NOTES, "notes:read notes:write")


def test_a_scope_no_resource_accepts_is_refused_at_registration(http, snapshot, notes):
    """RFC 7591 §3.2.2 invalid_client_metadata."""
    before = snapshot()

    response = http.post(
        "/register",
        json={"redirect_uris": [REDIRECT_URI], "scope": "notes:read wallet:pay"},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "Unsupported scope: wallet:pay.",
    }
    assert snapshot() == before


def test_discovery_lists_the_scopes_of_registered_resources(http, app, notes):
    """RFC 8414 §2 `scopes_supported`: OpenID Connect's, then those of each resource."""
    listed = http.get("/.well-known/openid-configuration", timeout=5).json()["scopes_supported"]

    assert listed == [
        "openid",
        "profile",
        "email",
        "offline_access",
        "organization",
        *SCOPES,  # the management API's, built in (idp.oauth.management)
        "notes:read",
        "notes:write",
    ]
    with app.app_context():
        delete_resource(NOTES)
    metadata = http.get("/.well-known/oauth-authorization-server", timeout=5).json()
    assert "notes:read" not in metadata["scopes_supported"]


def test_a_machine_client_gets_a_resources_scope_at_the_token_endpoint(http, make_client, notes):
    """RFC 6749 §4.4 with RFC 8707 §2: client credentials for the notes server."""
    client = make_client(
        grant_types=["client_credentials"], redirect_uris=[], scopes=["notes:read"]
    )

    response = post_as(
        http, client, "/token", grant_type="client_credentials", scope="notes:read", resource=NOTES
    )

    assert response.status_code == 200, response.text
    claims = claims_of(http, response.json()["access_token"])
    assert (claims["aud"], claims["scope"]) == (NOTES, "notes:read")


def test_the_scopes_of_a_deleted_resource_are_no_longer_granted(
    http, app, browser, make_user, make_client, notes, snapshot
):
    """A client registered with a resource's scopes cannot get them once the resource is
    gone: invalid_scope (RFC 6749 §4.1.2.1, §5.2), nothing stored, no server error."""
    make_user(ADA[0])
    client = make_client(
        grant_types=["authorization_code", "client_credentials"],
        scopes=["openid", "notes:read"],
    )
    with app.app_context():
        delete_resource(NOTES)
    browser.sign_in(*ADA)
    before = snapshot()

    callback = follow(browser, authorize_url(client, pkce()[1], scope="openid notes:read"))
    machine = post_as(http, client, "/token", grant_type="client_credentials", scope="notes:read")

    assert query_of(callback)["error"] == "invalid_scope"
    assert machine.status_code == 400
    assert machine.json() == {
        "error": "invalid_scope",
        "error_description": "Scope not granted: notes:read.",
    }
    assert snapshot() == before
