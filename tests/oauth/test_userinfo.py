"""Userinfo (OpenID Connect Core §5.3) and its bearer-token errors (RFC 6750 §3)."""

from __future__ import annotations

from idp.oauth.resources import create_resource
from tests.conftest import PASSWORD
from tests.oauth.issued import claims_of, issue, userinfo

ADA = ("ada@example.com", PASSWORD)


def test_claims_follow_the_granted_scopes(http, browser, make_user, make_client):
    make_user(ADA[0], name="Ada Lovelace")
    client = make_client()
    narrow = issue(http, browser, client, scope="openid")
    wide = issue(http, browser, client, scope="openid profile email")

    only_sub = http.get(
        "/userinfo",
        headers={"Authorization": "Bearer " + narrow["access_token"]},
        timeout=5,
    ).json()
    everything = http.post(
        "/userinfo",
        headers={"Authorization": "Bearer " + wide["access_token"]},
        timeout=5,
    ).json()

    assert set(only_sub) == {"sub"}
    assert everything["name"] == "Ada Lovelace"
    assert everything["email"] == "ada@example.com"
    assert everything["email_verified"] is False
    assert everything["sub"] == only_sub["sub"]


def test_no_token_is_a_bare_challenge(http):
    response = http.get("/userinfo", timeout=5)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in response.headers["WWW-Authenticate"]  # RFC 6750 §3.1


def test_a_tampered_token_is_invalid_token(http, browser, make_user, make_client):
    make_user(ADA[0])
    token = issue(http, browser, make_client(), scope="openid profile email")["access_token"]
    header, payload, signature = token.split(".")
    tampered = ".".join(
        [header, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], signature]
    )

    response = http.get("/userinfo", headers={"Authorization": "Bearer " + tampered}, timeout=5)

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_expired_token_is_invalid_token(http, browser, make_user, make_client, clock):
    make_user(ADA[0])
    client = make_client()
    from idp.db import db
    from idp.oauth.models import Client

    with http.app.app_context():
        db.session.query(Client).filter_by(client_id=client.client_id).update(
            {"access_token_ttl": 1}
        )
        db.session.commit()
    token = issue(http, browser, client, scope="openid profile email")["access_token"]
    clock.advance(2.1)

    response = http.get("/userinfo", headers={"Authorization": "Bearer " + token}, timeout=5)

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_id_token_is_not_an_access_token(http, browser, make_user, make_client):
    """RFC 9068 §4: the `typ` header tells access tokens apart from ID tokens."""
    make_user(ADA[0])
    id_token = issue(http, browser, make_client(), scope="openid profile email")["id_token"]

    response = http.get("/userinfo", headers={"Authorization": "Bearer " + id_token}, timeout=5)

    assert response.status_code == 401


def test_a_token_for_another_resource_is_refused(
    http, app, browser, make_user, make_client, snapshot
):
    """RFC 9068 §4 and RFC 8707 §2: a token whose audience is only an MCP server is not
    good at userinfo, even with `openid` in its scope; 401 invalid_token (RFC 6750 §3.1)."""
    make_user(ADA[0])
    mcp = "https://mcp.example.com/mcp"
    with app.app_context():
        create_resource(mcp, "Notes", {"openid": "", "notes:read": "Read your notes"})
    token = issue(http, browser, make_client(), scope="openid notes:read", resource=mcp)
    assert claims_of(http, token["access_token"])["aud"] == mcp
    before = snapshot()

    response = userinfo(http, token["access_token"])

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The access token is for another resource, not for this provider.",
    }
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="userinfo", error="invalid_token"')
    assert snapshot() == before
