"""The device authorization grant: a CLI without a browser signs its user in.

RFC 8628 §3.1/§3.2 (the device authorization request and response), §3.3 (the user-code page),
§3.4/§3.5 (polling the token endpoint: authorization_pending, slow_down, access_denied,
expired_token), §4 (metadata), §5.1 (user codes rate limited), §5.4 (a filled-in code is
confirmed, never approved by itself), §6.1 (user-code alphabet, case and dashes ignored);
RFC 6749 §5.2 (invalid_grant, invalid_scope, unauthorized_client, invalid_client).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from idp.db import db
from idp.identity.models import LoginSession
from idp.oauth.device import DeviceAuthorization
from tests.conftest import PASSWORD, SECRET, AppClient, Browser
from tests.oauth.issued import claims_of, post_as, refresh
from tests.support import audit_events
from tests.test_cli import run

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
SCOPE = "openid profile offline_access"


@pytest.fixture
def cli_client(make_client):
    """A public CLI registered for the device grant (and refresh tokens)."""
    return make_client(
        name="Deploy CLI",
        public=True,
        redirect_uris=[],
        grant_types=[DEVICE_GRANT, "refresh_token"],
    )


def start(http: AppClient, client: Any, scope: str = SCOPE) -> dict[str, Any]:
    response = post_as(http, client, "/device_authorization", scope=scope)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def poll(http: AppClient, client: Any, device_code: str) -> requests.Response:
    return post_as(http, client, "/token", grant_type=DEVICE_GRANT, device_code=device_code)


def error_of(response: requests.Response) -> str:
    assert response.status_code in (400, 401), response.text
    assert response.headers["Cache-Control"] == "no-store"
    error: str = response.json()["error"]
    return error


def answer(browser: Browser, user_code: str, decision: str = "allow") -> requests.Response:
    """Type the code on /device, see the approval page, and answer it."""
    page = browser.submit("/device", user_code=user_code)
    assert page.status_code == 200, page.text
    return browser.submit(
        "/device", action="/device/answer", user_code=user_code, decision=decision
    )


def stored(http: AppClient) -> DeviceAuthorization:
    with http.app.app_context():
        row = db.session.scalars(select(DeviceAuthorization)).one()
        db.session.expunge(row)
        return row


def test_a_cli_signs_its_user_in(http, browser, make_user, cli_client):
    user_id = make_user("ada@example.com")

    started = post_as(http, cli_client, "/device_authorization", scope=SCOPE)

    # §3.2: the device authorization response, never cached.
    assert started.status_code == 200, started.text
    assert started.headers["Cache-Control"] == "no-store"
    body = started.json()
    assert USER_CODE.match(body["user_code"])
    assert len(body["device_code"]) >= 40
    assert body["verification_uri"] == http.base + "/device"
    assert body["verification_uri_complete"] == (
        f"{http.base}/device?user_code={body['user_code']}"
    )
    assert body["expires_in"] == 600
    assert body["interval"] == 5
    row = stored(http)
    assert row.device_code_hash == hashlib.sha256(body["device_code"].encode()).hexdigest()
    table = json.dumps([str(v) for v in vars(row).values()])
    assert body["user_code"] not in table and body["user_code"].replace("-", "") not in table

    # §3.5: the user has not answered yet.
    assert error_of(poll(http, cli_client, body["device_code"])) == "authorization_pending"

    # §3.3: the link sends the user to sign in, then back to the code, filled in.
    path = body["verification_uri_complete"].removeprefix(http.base)
    to_sign_in = browser.get(path)
    assert to_sign_in.status_code == 302
    next_url = parse_qs(urlsplit(to_sign_in.headers["Location"]).query)["next"][0]
    assert next_url == path
    signed_in = browser.sign_in("ada@example.com", PASSWORD, next=next_url)
    assert signed_in.headers["Location"].endswith(path)
    filled_in = browser.get(path)
    assert f'value="{body["user_code"]}"' in filled_in.text
    # §5.4: arriving with the code approves nothing.
    assert stored(http).decision is None

    approval = browser.submit(path, action="/device", user_code=body["user_code"])
    assert approval.status_code == 200
    assert "Allow Deploy CLI on your device?" in approval.text
    assert body["user_code"] in approval.text
    assert "Only allow this if you started it yourself" in approval.text
    assert "Know who you are" in approval.text and "See your name" in approval.text
    done = browser.submit(
        path, action="/device/answer", user_code=body["user_code"], decision="allow"
    )
    assert done.status_code == 200
    assert "Device connected" in done.text

    # §3.5: the next poll gets the tokens, shaped as the code grant's.
    tokens = poll(http, cli_client, body["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["Cache-Control"] == "no-store"
    issued = tokens.json()
    assert set(issued) == {
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "refresh_token",
        "id_token",
    }
    assert issued["scope"] == SCOPE
    access = claims_of(http, issued["access_token"])
    assert access["sub"] == str(user_id)
    assert access["client_id"] == cli_client.client_id
    assert access["amr"] == ["pwd"]
    assert access["acr"] == "1"
    with http.app.app_context():
        signed_in = db.session.scalars(select(LoginSession.authenticated_at)).one()
    assert access["auth_time"] == int(signed_in.timestamp())  # the approving session's
    id_token = claims_of(http, issued["id_token"])
    assert id_token["aud"] == cli_client.client_id
    assert id_token["sub"] == str(user_id)
    assert refresh(http, cli_client, issued["refresh_token"]).status_code == 200

    # The code is single use.
    assert error_of(poll(http, cli_client, body["device_code"])) == "invalid_grant"
    # The app is listed with the apps that have access, and the answer is audited.
    assert "Deploy CLI" in browser.get("/account").text
    assert {"device_authorized", "consent_granted"} <= set(audit_events(http.app))


def test_the_code_may_be_typed_in_lower_case_without_the_dash(http, browser, make_user, cli_client):
    """§6.1: user codes are compared without case and without punctuation."""
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    body = start(http, cli_client)

    approval = browser.submit("/device", user_code=" " + body["user_code"].replace("-", "").lower())

    assert approval.status_code == 200
    assert body["user_code"] in approval.text


def test_no_refresh_token_without_offline_access(http, browser, make_user, cli_client):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    body = start(http, cli_client, scope="openid")
    answer(browser, body["user_code"])

    issued = poll(http, cli_client, body["device_code"]).json()

    assert "refresh_token" not in issued
    assert "id_token" in issued


def test_polling_faster_than_the_interval_slows_the_device_down(http, cli_client):
    """§3.5: slow_down, and the interval grows by 5 seconds for every later request."""
    body = start(http, cli_client)

    assert error_of(poll(http, cli_client, body["device_code"])) == "authorization_pending"
    assert error_of(poll(http, cli_client, body["device_code"])) == "slow_down"
    assert stored(http).interval == 10
    assert error_of(poll(http, cli_client, body["device_code"])) == "slow_down"
    assert stored(http).interval == 15


@pytest.mark.settings(IDP_DEVICE_POLL_INTERVAL="1")
def test_polling_at_the_interval_is_not_slowed_down(http, cli_client, clock):
    body = start(http, cli_client)
    assert body["interval"] == 1

    assert error_of(poll(http, cli_client, body["device_code"])) == "authorization_pending"
    clock.advance(1.1)
    assert error_of(poll(http, cli_client, body["device_code"])) == "authorization_pending"


def test_a_denied_request_gets_access_denied(http, browser, make_user, cli_client):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    body = start(http, cli_client)

    done = answer(browser, body["user_code"], decision="deny")

    assert done.status_code == 200
    assert "Request denied" in done.text
    assert error_of(poll(http, cli_client, body["device_code"])) == "access_denied"
    assert "device_denied" in audit_events(http.app)
    assert "Deploy CLI" not in browser.get("/account").text


@pytest.mark.settings(IDP_DEVICE_CODE_TTL="1")
def test_an_expired_device_code_gets_expired_token(http, cli_client, clock):
    body = start(http, cli_client)
    assert body["expires_in"] == 1
    clock.advance(1.1)

    assert error_of(poll(http, cli_client, body["device_code"])) == "expired_token"


def test_an_unknown_device_code_is_invalid_grant(http, cli_client, make_client, snapshot):
    other = make_client(name="Other CLI", public=True, redirect_uris=[], grant_types=[DEVICE_GRANT])
    theirs = start(http, other)
    before = snapshot()

    assert error_of(poll(http, cli_client, "no-such-device-code")) == "invalid_grant"
    assert error_of(poll(http, cli_client, theirs["device_code"])) == "invalid_grant"
    assert snapshot() == before


def test_a_poll_without_device_code_is_invalid_request(http, cli_client):
    response = post_as(http, cli_client, "/token", grant_type=DEVICE_GRANT)

    assert error_of(response) == "invalid_request"


def test_a_client_without_the_device_grant_is_refused(http, make_client, snapshot):
    client = make_client(public=True)  # authorization_code and refresh_token only
    before = snapshot()

    started = post_as(http, client, "/device_authorization", scope="openid")
    polled = post_as(http, client, "/token", grant_type=DEVICE_GRANT, device_code="x")

    assert error_of(started) == "unauthorized_client"
    assert error_of(polled) == "unauthorized_client"
    assert snapshot() == before


@pytest.mark.parametrize("scope", ["", "openid address", "openid unheard-of"])
def test_a_scope_outside_the_registration_is_refused(http, make_client, snapshot, scope):
    client = make_client(
        public=True, redirect_uris=[], grant_types=[DEVICE_GRANT], scopes=["openid", "email"]
    )
    before = snapshot()

    response = post_as(http, client, "/device_authorization", scope=scope)

    assert error_of(response) == "invalid_scope"
    assert snapshot() == before


def test_clients_authenticate_as_at_the_token_endpoint(http, make_client, snapshot):
    client = make_client(redirect_uris=[], grant_types=[DEVICE_GRANT])  # confidential
    before = snapshot()

    unknown = http.post(
        "/device_authorization",
        data={"client_id": "nobody", "scope": "openid"},
        timeout=5,
    )
    without_secret = http.post(
        "/device_authorization",
        data={"client_id": client.client_id, "scope": "openid"},
        timeout=5,
    )
    wrong_secret = http.post(
        "/device_authorization",
        data={"scope": "openid"},
        auth=(client.client_id, "wrong"),
        timeout=5,
    )

    assert error_of(unknown) == "invalid_client"
    assert error_of(without_secret) == "invalid_client"
    assert error_of(wrong_secret) == "invalid_client"
    assert snapshot() == before
    assert USER_CODE.match(start(http, client, scope="openid")["user_code"])


def test_a_wrong_code_on_the_page_says_so_and_stores_nothing(
    http, browser, make_user, cli_client, snapshot
):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    start(http, cli_client)
    before = snapshot()

    for typed in ("BCDF-GHJK", "hello", ""):
        page = browser.submit("/device", user_code=typed)
        assert page.status_code == 400
        assert "That code is not right. Check the code shown on your device" in page.text

    assert snapshot() == before


@pytest.mark.settings(IDP_DEVICE_CODE_TTL="1")
def test_an_expired_code_on_the_page_says_so_and_stores_nothing(
    http, browser, make_user, cli_client, snapshot, clock
):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    body = start(http, cli_client)
    clock.advance(1.1)
    before = snapshot()

    entered = browser.submit("/device", user_code=body["user_code"])
    answered = browser.submit(
        "/device", action="/device/answer", user_code=body["user_code"], decision="allow"
    )

    for page in (entered, answered):
        assert page.status_code == 400
        assert "That code has expired. Start again on your device" in page.text
    assert snapshot() == before


def test_a_used_code_on_the_page_says_so_and_stores_nothing(
    http, browser, make_user, cli_client, snapshot
):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    body = start(http, cli_client)
    answer(browser, body["user_code"], decision="deny")
    before = snapshot()

    entered = browser.submit("/device", user_code=body["user_code"])
    answered = browser.submit(
        "/device", action="/device/answer", user_code=body["user_code"], decision="allow"
    )

    for page in (entered, answered):
        assert page.status_code == 400
        assert "That code was already used" in page.text
    assert snapshot() == before
    assert error_of(poll(http, cli_client, body["device_code"])) == "access_denied"


@pytest.mark.settings(IDP_DEVICE_USER_CODE_LIMIT="3 per minute")
def test_code_entries_are_rate_limited_per_ip(http, browser, make_user, cli_client, snapshot):
    """§5.1: guessing user codes is slowed down; the limit counts both pages."""
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    body = start(http, cli_client)
    assert browser.submit("/device", user_code="BCDF-GHJK").status_code == 400
    assert browser.submit("/device", user_code="BCDF-GHJL").status_code == 400
    answered = browser.submit(
        "/device", action="/device/answer", user_code="BCDF-GHJM", decision="allow"
    )
    assert answered.status_code == 400
    before = snapshot()

    refused = browser.submit("/device", user_code=body["user_code"])

    assert refused.status_code == 429
    assert "Too many attempts" in refused.text
    assert re.search(r"Please wait \d+ seconds before trying again", refused.text)
    assert int(refused.headers["Retry-After"]) > 0
    assert "Allow Deploy CLI" not in refused.text
    assert snapshot() == before


def test_discovery_advertises_the_device_endpoint(http):
    """RFC 8628 §4; RFC 8414 §2 grant_types_supported."""
    metadata = http.get("/.well-known/openid-configuration", timeout=5).json()

    assert metadata["device_authorization_endpoint"] == http.base + "/device_authorization"
    assert DEVICE_GRANT in metadata["grant_types_supported"]


def test_a_dynamically_registered_cli_uses_the_device_grant(http):
    """RFC 7591 §2: any grant type the server supports may be registered."""
    registered = http.post(
        "/register",
        json={
            "client_name": "Agent CLI",
            "grant_types": [DEVICE_GRANT, "refresh_token"],
            "token_endpoint_auth_method": "none",
            "scope": "openid offline_access",
        },
        timeout=5,
    )

    assert registered.status_code == 201, registered.text
    info = registered.json()
    assert info["grant_types"] == [DEVICE_GRANT, "refresh_token"]
    assert info["response_types"] == []
    started = http.post(
        "/device_authorization",
        data={"client_id": info["client_id"], "scope": "openid"},
        timeout=5,
    )
    assert started.status_code == 200, started.text


def test_the_cli_registers_a_device_client(database_url, tmp_path, keys_dir):
    result = run(
        "clients",
        "create",
        "--name",
        "Deploy CLI",
        "--public",
        "--grant",
        DEVICE_GRANT,
        env={
            "DATABASE_URL": database_url,
            "IDP_SECRET_KEY": SECRET,
            "IDP_INSTANCE_DIR": str(tmp_path),
            "IDP_KEYS_DIR": str(keys_dir),
        },
    )

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["grant_types"] == [DEVICE_GRANT]
    assert created["token_endpoint_auth_method"] == "none"
