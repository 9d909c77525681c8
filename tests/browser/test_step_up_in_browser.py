"""Step-up in Chromium: a person whose session has only a password (this device is trusted,
so the second step was skipped) opens an app that asks for multi-factor (`acr_values=2`,
OpenID Connect Core §3.1.2.1). They are asked for their authenticator code, go back to the
app, and the app's ID token says how they signed in: `amr` with `pwd`, `otp` and `mfa`
(RFC 8176) and `acr` "2".
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Route, expect

from tests.browser.test_two_factor_in_browser import steady_code
from tests.conftest import PASSWORD
from tests.oauth.conftest import authorize_url, pkce
from tests.oauth.issued import claims_of
from tests.test_two_factor import with_two_factor

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("steady_totp_step")]
CALLBACK = "http://127.0.0.1:9/callback"


def password_only(page: Page, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_an_app_asking_for_multi_factor_gets_it(server, page, make_user, make_client):
    user_id = make_user("ada@example.com")
    secret, _ = with_two_factor(server.app, user_id)
    client = make_client(first_party=True)

    # First sign-in on this device: password, code, and "trust this device".
    password_only(page, "ada@example.com")
    expect(page).to_have_url("/sign-in/second-factor")
    page.get_by_label("Code from your authenticator app").fill(steady_code(secret, -1))
    page.get_by_label("Trust this device for 30 days").check()
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url("/account")
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()

    # Later: the trusted device skips the second step, so the session has a password only.
    password_only(page, "ada@example.com")
    expect(page).to_have_url("/account")

    arrived: list[str] = []

    def app_callback(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, body="<h1>The app</h1>", content_type="text/html")

    page.route(CALLBACK + "*", app_callback)
    verifier, challenge = pkce()
    page.goto(authorize_url(client, challenge, scope="openid", acr_values="2"))

    expect(page).to_have_url(re.compile(r"/sign-in/second-factor\?next=/authorize/resume/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    violations = Axe().run(page)
    assert violations.violations_count == 0, violations.generate_report()
    page.get_by_label("Code from your authenticator app").fill(steady_code(secret))
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("The app")
    code = parse_qs(urlsplit(arrived[-1]).query)["code"][0]
    tokens = requests.post(
        server.url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(client.client_id, client.client_secret),
        timeout=5,
    ).json()
    claims = claims_of(server, tokens["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == "2"
