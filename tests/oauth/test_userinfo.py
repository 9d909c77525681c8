"""Userinfo (OpenID Connect Core §5.3) and its bearer-token errors (RFC 6750 §3)."""

from __future__ import annotations

from idp.db import db
from idp.identity.users import find_by_email
from idp.identity.verification import mark_verified
from idp.oauth.management import SCOPES
from idp.oauth.resources import create_resource
from tests.conftest import PASSWORD
from tests.helpers.organizations import make_organization
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


def verify_email(http, email: str) -> None:
    with http.app.app_context():
        user = find_by_email(email)
        assert user is not None
        mark_verified(user)
        db.session.commit()


def test_email_verified_is_the_accounts_real_state(http, browser, make_user, make_client):
    """OpenID Connect Core §5.1: email_verified is true when the provider made sure the person
    controls the address (here: they opened the verification link), false otherwise."""
    make_user(ADA[0])
    client = make_client()
    token = issue(http, browser, client, scope="openid email")["access_token"]

    assert userinfo(http, token).json()["email_verified"] is False
    verify_email(http, ADA[0])
    assert userinfo(http, token).json()["email_verified"] is True


def test_every_advertised_claim_about_the_person_is_filled(http, browser, make_user, make_client):
    """Discovery 1.0 §3: scopes_supported and claims_supported list only what the provider
    offers and can fill. It keeps a name and a verified email address, no postal address,
    phone number or other profile data (OpenID Connect Core §5.1, §5.4)."""
    ada = make_user(ADA[0], name="Ada Lovelace")
    verify_email(http, ADA[0])
    make_organization(http.app, ada)  # the organization scope's claims are about it
    metadata = http.get("/.well-known/openid-configuration", timeout=5).json()
    about_the_token = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid"}
    about_the_token.add("at_hash")

    about_people = [s for s in metadata["scopes_supported"] if s not in SCOPES]
    token = issue(http, browser, make_client(), scope=" ".join(about_people))
    released = userinfo(http, token["access_token"]).json()

    # Beside these, only the management API's scopes, which are about no person.
    assert about_people == ["openid", "profile", "email", "offline_access", "organization"]
    assert set(metadata["claims_supported"]) - about_the_token == set(released)
    assert released["name"] == "Ada Lovelace"
    assert released["email_verified"] is True


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
