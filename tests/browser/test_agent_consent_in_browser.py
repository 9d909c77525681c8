"""The consent page an agent (an MCP client) shows, in Chromium at 360 and 1280 px.

It names the resource the app wants to reach (RFC 8707 §2.1), the scopes in the resource's
plain words, how the app came to be (it registered itself, RFC 7591), and the host it
redirects to; it passes axe and keeps the consent form contract (decision=allow|deny).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Route, expect
from sqlalchemy import update

from idp.db import db
from idp.oauth.models import Client
from idp.oauth.resources import create_resource
from tests.browser.fixtures import DESKTOP, PHONE, screenshot, sign_in
from tests.oauth.conftest import authorize_url, pkce

pytestmark = pytest.mark.browser
CALLBACK = "http://127.0.0.1:9/callback"
NOTES = "https://notes.example.com/mcp"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_the_agent_consent_page(app, server, new_context, make_user, make_client, viewport):
    make_user("ada@example.com")
    client = make_client(name="Research Agent")
    with app.app_context():
        create_resource(
            NOTES, "Team notes", {"notes:read": "Read your notes", "notes:write": "Edit notes"}
        )
        db.session.execute(
            update(Client).where(Client.client_id == client.client_id).values(dynamic=True)
        )
        db.session.commit()
    page = new_context(viewport=viewport).new_page()
    arrived: list[str] = []

    def app_callback(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, body="<h1>The agent</h1>", content_type="text/html")

    page.route(CALLBACK + "*", app_callback)
    sign_in(page, "ada@example.com")
    scope = "openid notes:read notes:write"
    page.goto(authorize_url(client, pkce()[1], scope=scope) + "&" + urlencode({"resource": NOTES}))

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Allow Research Agent to access your account?"
    )
    expect(page.get_by_text("Team notes")).to_be_visible()
    expect(page.get_by_text(NOTES)).to_be_visible()
    expect(page.get_by_text("Read your notes")).to_be_visible()
    expect(page.get_by_text("Edit notes")).to_be_visible()
    expect(page.get_by_text("This app registered itself.")).to_be_visible()
    expect(page.get_by_text("127.0.0.1:9")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], "the page scrolls sideways"
    screenshot(page, "agent-consent")
    violations = Axe().run(page)
    assert violations.violations_count == 0, violations.generate_report()

    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("The agent")
    params = parse_qs(urlsplit(arrived[-1]).query)
    assert params["code"] and params["state"] == ["st-123"]
