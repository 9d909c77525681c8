"""Step-up and authentication claims: `acr`/`amr` in ID tokens (OpenID Connect Core §2,
RFC 8176) and `acr_values` / the `acr` claim request (Core §3.1.2.1, §5.5.1.1) sending a
single-factor session to the second-factor page."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import PASSWORD, Browser
from tests.oauth.conftest import authorize_url, follow, pkce, query_of
from tests.oauth.issued import claims_of, issue, redeem
from tests.test_two_factor import with_two_factor


@pytest.fixture
def client(make_client):
    return make_client()


def test_discovery_lists_the_acr_values(http, browser):
    document = browser.get("/.well-known/openid-configuration").json()
    assert document["acr_values_supported"] == [
        "1",
        "2",
        "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
    ]


def test_a_password_sign_in_is_single_factor(http, browser, make_user, client):
    make_user()
    tokens = issue(http, browser, client, scope="openid")

    claims = claims_of(http, tokens["id_token"])
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == "1"
    assert isinstance(claims["auth_time"], int)


@pytest.mark.parametrize(
    "params",
    [
        {"acr_values": "2"},
        {"acr_values": "http://schemas.openid.net/pape/policies/2007/06/multi-factor"},
        {"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": ["2"]}}})},
        {"claims": json.dumps({"id_token": {"acr": {"value": "2"}}})},
    ],
)
def test_asking_for_multi_factor_sends_a_password_session_to_the_second_factor(
    http, browser, make_user, client, params
):
    make_user()
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303
    _, challenge = pkce()

    response = browser.get(authorize_url(client, challenge, **params))

    assert response.status_code in (302, 303)
    target = urlsplit(response.headers["Location"])
    assert target.path == "/sign-in/second-factor"
    resume = parse_qs(target.query)["next"][0]
    assert resume.startswith("/authorize/resume/")


def test_a_request_that_also_accepts_one_factor_is_not_stepped_up(http, browser, make_user, client):
    make_user()
    tokens = issue(http, browser, client, scope="openid", acr_values="2 1")

    assert claims_of(http, tokens["id_token"])["acr"] == "1"


def test_unknown_acr_values_are_ignored(http, browser, make_user, client):
    """acr_values is a voluntary request (Core §3.1.2.1): values we do not know change nothing."""
    make_user()
    tokens = issue(http, browser, client, scope="openid", acr_values="urn:example:gold")

    assert claims_of(http, tokens["id_token"])["acr"] == "1"


def test_prompt_none_cannot_step_up(http, browser, make_user, client):
    """Core §3.1.2.6: interaction_required when the user would have to act."""
    make_user()
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303
    _, challenge = pkce()

    callback = follow(browser, authorize_url(client, challenge, prompt="none", acr_values="2"))

    params = query_of(callback)
    assert params["error"] == "interaction_required"
    assert params["state"] == "st-123"
    assert "code" not in params


def test_the_step_up_adds_the_factor_and_the_app_sees_it(http, make_user, client):
    """A trusted device skipped the second step; the app's acr_values=2 asks for it, and the
    ID token shows both methods and `mfa` (RFC 8176 §2)."""
    user_id = make_user()
    _, codes = with_two_factor(http.app, user_id)
    browser = Browser(http)
    browser.sign_in("ada@example.com")
    browser.submit("/sign-in/second-factor", code=codes[0], method="backup", trust="y")
    browser.submit("/account", "/sign-out")
    assert browser.sign_in("ada@example.com").headers["Location"] == "/account"
    verifier, challenge = pkce()

    asked = browser.get(authorize_url(client, challenge, scope="openid", acr_values="2"))
    step_up = asked.headers["Location"].removeprefix(http.base)
    resume = parse_qs(urlsplit(step_up).query)["next"][0]
    done = browser.submit(
        step_up, "/sign-in/second-factor", code=codes[1], method="backup", next=resume
    )
    assert done.headers["Location"] == resume
    callback = follow(browser, resume)

    tokens = redeem(http, client, query_of(callback)["code"], verifier).json()
    claims = claims_of(http, tokens["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == "2"
