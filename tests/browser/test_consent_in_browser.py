"""An app sends a person here in a real browser: sign in, consent, back to the app.

Checks, in Chromium at 360 and 1280 px: the consent page names the app and the scopes, passes
axe, and the redirect to the app after "Allow" is not blocked by our Content-Security-Policy
(OpenID Connect Core §3.1.2.4, RFC 9207 `iss`). Also the form_post response mode, whose page
submits itself with the one script file it loads.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Route, expect

from tests.browser.fixtures import DESKTOP, PHONE, screenshot
from tests.conftest import PASSWORD
from tests.oauth.conftest import authorize_url, pkce

pytestmark = pytest.mark.browser
CALLBACK = "http://127.0.0.1:9/callback"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_sign_in_consent_and_return_to_the_app(
    server, new_context, make_user, make_client, viewport
):
    make_user("ada@example.com")
    client = make_client(name="Photo Printer", client_uri="https://printer.example")
    page = new_context(viewport=viewport).new_page()
    arrived: list[str] = []

    def app_callback(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, body="<h1>The app</h1>", content_type="text/html")

    page.route(CALLBACK + "*", app_callback)
    page.goto(authorize_url(client, pkce()[1]))
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Allow Photo Printer to access your account?"
    )
    expect(page.get_by_text("See your email address")).to_be_visible()
    screenshot(page, "consent")
    violations = Axe().run(page)
    assert violations.violations_count == 0, violations.generate_report()
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("The app")
    params = parse_qs(urlsplit(arrived[-1]).query)
    assert params["state"] == ["st-123"]
    assert params["iss"] == [server.url]
    assert params["code"]


def test_form_post_submits_itself(server, new_context, make_user, make_client):
    make_user("ada@example.com")
    client = make_client(first_party=True)
    page = new_context().new_page()
    posted: list[dict[str, list[str]]] = []

    def app_callback(route: Route) -> None:
        posted.append(parse_qs(route.request.post_data or ""))
        route.fulfill(status=200, body="<h1>The app</h1>", content_type="text/html")

    page.route(CALLBACK, app_callback)
    page.goto(authorize_url(client, pkce()[1], response_mode="form_post"))
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("The app")
    assert posted[-1]["state"] == ["st-123"]
    assert posted[-1]["iss"] == [server.url]
    assert posted[-1]["code"]
