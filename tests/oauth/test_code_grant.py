"""Redeeming authorization codes at the token endpoint.

RFC 6749 §4.1.3 (the code is bound to client and redirect URI), §4.1.2 and §10.5 (single use;
a replay revokes what the first use issued), RFC 7636 §4.6 (the verifier must match),
OAuth 2.1: codes live at most 60 seconds.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from idp.db import db, utcnow
from idp.oauth.models import AuthorizationCode
from tests.conftest import PASSWORD
from tests.oauth.conftest import authorize_url, follow, pkce, query_of

ADA = ("ada@example.com", PASSWORD)


def get_code(browser, client, challenge):
    location = follow(browser, authorize_url(client, challenge), sign_in=ADA)
    return query_of(location)["code"]


def redeem(http, client, code, verifier, redirect_uri=None, auth=None):
    return http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri or client.redirect_uri,
        },
        auth=auth or (client.client_id, client.client_secret),
        timeout=5,
    )


def test_a_code_is_single_use_and_a_replay_revokes_its_tokens(
    http, browser, make_user, make_client
):
    make_user(ADA[0])
    client = make_client()
    verifier, challenge = pkce()
    code = get_code(browser, client, challenge)
    first = redeem(http, client, code, verifier)
    access = first.json()["access_token"]
    assert (
        http.get("/userinfo", headers={"Authorization": f"Bearer {access}"}, timeout=5).status_code
        == 200
    )

    replay = redeem(http, client, code, verifier)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    after = http.get("/userinfo", headers={"Authorization": f"Bearer {access}"}, timeout=5)
    assert after.status_code == 401
    assert 'error="invalid_token"' in after.headers["WWW-Authenticate"]


def test_token_responses_are_never_cached(http, browser, make_user, make_client):
    """RFC 6749 §5.1."""
    make_user(ADA[0])
    client = make_client()
    verifier, challenge = pkce()

    response = redeem(http, client, get_code(browser, client, challenge), verifier)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json()["token_type"] == "Bearer"


def test_an_expired_code_is_refused(http, browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client()
    verifier, challenge = pkce()
    code = get_code(browser, client, challenge)
    with http.app.app_context():
        db.session.execute(
            update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    response = redeem(http, client, code, verifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_codes_live_sixty_seconds_at_most(http, browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client()
    get_code(browser, client, pkce()[1])

    with http.app.app_context():
        row = db.session.query(AuthorizationCode).one()
        assert row.expires_at - row.created_at <= timedelta(seconds=60)
        assert len(row.code_hash) == 64  # stored as a SHA-256 digest, never in clear


def test_a_code_redeemed_by_another_client_is_refused(
    http, browser, make_user, make_client, snapshot
):
    make_user(ADA[0])
    client, other = make_client(), make_client(name="Other")
    verifier, challenge = pkce()
    code = get_code(browser, client, challenge)
    before = snapshot()

    response = redeem(http, other, code, verifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert snapshot() == before
    assert redeem(http, client, code, verifier).status_code == 200  # the rightful client still can


def test_a_code_with_another_redirect_uri_is_refused(http, browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client(redirect_uris=["http://127.0.0.1:9/callback", "http://127.0.0.1:9/other"])
    verifier, challenge = pkce()
    code = get_code(browser, client, challenge)

    response = redeem(http, client, code, verifier, redirect_uri="http://127.0.0.1:9/other")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_wrong_verifier_is_refused(http, browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client()
    _, challenge = pkce()
    code = get_code(browser, client, challenge)

    wrong = redeem(http, client, code, pkce()[0])
    missing = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
        },
        auth=(client.client_id, client.client_secret),
        timeout=5,
    )

    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_a_public_client_redeems_with_pkce_alone(http, browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client(public=True)
    verifier, challenge = pkce()
    code = get_code(browser, client, challenge)

    response = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": client.redirect_uri,
            "client_id": client.client_id,
        },
        timeout=5,
    )

    assert response.status_code == 200, response.text
    assert "id_token" in response.json()


def test_a_wrong_client_secret_is_invalid_client_with_a_challenge(
    http, browser, make_user, make_client
):
    """RFC 6749 §5.2: 401 with WWW-Authenticate when the client used HTTP Basic."""
    make_user(ADA[0])
    client = make_client()
    verifier, challenge = pkce()
    code = get_code(browser, client, challenge)

    response = redeem(http, client, code, verifier, auth=(client.client_id, "wrong-secret"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_no_refresh_token_without_offline_access(http, browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client()
    verifier, challenge = pkce()

    body = redeem(http, client, get_code(browser, client, challenge), verifier).json()

    assert "refresh_token" not in body
