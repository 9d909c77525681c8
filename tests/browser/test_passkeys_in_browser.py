"""Passkeys in Chromium, with the DevTools WebAuthn domain's virtual authenticator (a CTAP2
platform authenticator with user verification that answers without a touch).

The app runs with its issuer on http://localhost:<port>: browsers accept "localhost" as a
WebAuthn RP ID, never an IP address (WebAuthn L3 §5.1.3 step 8: the RP ID must be a valid
domain), so every page here is opened on localhost.

Covered: adding a passkey on the security page, signing out and in again with the passkey
button without typing an email (the session's amr has "hwk" and "mfa", RFC 8176), the email
field's autofill (conditional mediation, §5.1.4.1), a passkey as second factor, axe and
screenshots of the passkeys section at 360 and 1280 px.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, CDPSession, ConsoleMessage, Page, expect
from sqlalchemy import select

from idp import db as database
from idp.app import create_app
from idp.core.security import digest
from idp.identity.models import LoginSession
from idp.settings import Settings
from tests.browser.fixtures import DESKTOP, PHONE, SCREENSHOTS
from tests.conftest import PASSWORD, LiveServer
from tests.test_passkeys import user_id_of, with_totp

pytestmark = pytest.mark.browser

EMAIL = "grace@example.com"
# Counts each navigator.credentials.get() call and its mediation, so a test can see the
# autofill request start (test instrumentation, injected by Playwright, not by the app).
# Kept in sessionStorage: the list outlives the navigation a successful sign-in makes.
RECORD_GETS = """
const originalGet = navigator.credentials.get.bind(navigator.credentials);
navigator.credentials.get = (options) => {
  const gets = JSON.parse(sessionStorage.getItem("passkeyGets") || "[]");
  gets.push((options && options.mediation) || "optional");
  sessionStorage.setItem("passkeyGets", JSON.stringify(gets));
  return originalGet(options);
};
"""
GETS = "JSON.parse(sessionStorage.getItem('passkeyGets') || '[]')"
# Records like RECORD_GETS, but the autofill request never completes (nobody picks from the
# list) until it is aborted.
PENDING_AUTOFILL = """
const realGet = navigator.credentials.get.bind(navigator.credentials);
navigator.credentials.get = (options) => {
  const gets = JSON.parse(sessionStorage.getItem("passkeyGets") || "[]");
  gets.push(options.mediation || "optional");
  sessionStorage.setItem("passkeyGets", JSON.stringify(gets));
  if (options.mediation !== "conditional") return realGet(options);
  return new Promise((_resolve, reject) => {
    options.signal.addEventListener("abort", () => {
      sessionStorage.setItem("autofillAborted", "yes");
      reject(new DOMException("aborted", "AbortError"));
    });
  });
};
"""
# For the button tests: no autofill request, so only the button can sign in.
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[LiveServer]:
    """The live server, its app rebuilt with the issuer (and so the RP ID and origin) on
    localhost once the port is known."""
    live = LiveServer(env)
    first = live.app
    port = live.url.rsplit(":", 1)[1]
    env["IDP_ISSUER"] = f"http://localhost:{port}"
    live.settings = Settings.from_env(env)
    live.app = create_app(live.settings)
    live._server.app = live.app
    live.url = f"http://localhost:{port}"
    with first.app_context():
        database.dispose()
    yield live
    live.stop()


def with_authenticator(context: BrowserContext, page: Page) -> Authenticator:
    """A virtual platform authenticator for `page` (DevTools WebAuthn domain)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    result = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return Authenticator(cdp, result["authenticatorId"])


@dataclass
class Authenticator:
    cdp: CDPSession
    id: str

    def credentials(self) -> list[dict[str, Any]]:
        result = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        credentials: list[dict[str, Any]] = result["credentials"]
        return credentials


def add_passkey(page: Page, name: str) -> None:
    page.goto("/account/security")
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Passkey “{name}” added")
    expect(page.locator("li.passkey")).to_contain_text(name)


def sign_in_with_password(page: Page, email: str) -> None:
    """The password form (its button is "Sign in" exactly: "Sign in with a passkey" is
    another button on the page)."""
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/account")


def sign_out(page: Page) -> None:
    page.locator("header").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/sign-in")


def session_amr(server: LiveServer, context: BrowserContext) -> list[str] | None:
    token = next((c["value"] for c in context.cookies() if c["name"] == "idp_session"), None)
    if token is None:
        return None
    with server.app.app_context():
        row = database.db.session.scalar(
            select(LoginSession).where(LoginSession.token_hash == digest(token))
        )
        return list(row.amr) if row else None


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def chromium_page(new_context, console_errors) -> tuple[BrowserContext, Page, Authenticator]:
    context = new_context()
    page = context.new_page()
    page.on("console", lambda message: _keep_errors(message, console_errors))
    return context, page, with_authenticator(context, page)


def _keep_errors(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":
        errors.append(f"{message.text} ({message.location.get('url', '')})")


def test_add_a_passkey_then_sign_in_with_it_without_typing_an_email(
    server, make_user, chromium_page, console_errors
):
    context, page, authenticator = chromium_page
    context.add_init_script(NO_AUTOFILL)
    make_user(EMAIL, name="Grace Hopper")
    sign_in_with_password(page, EMAIL)

    add_passkey(page, "Laptop")

    [credential] = authenticator.credentials()
    assert credential["isResidentCredential"]  # a discoverable credential: no email needed
    expect(page.locator("li.passkey")).to_contain_text("Device-bound")
    sign_out(page)

    expect(page.get_by_label("Email")).to_have_value("")
    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page).to_have_url("/account")
    expect(page.get_by_text("Signed in as")).to_contain_text(EMAIL)
    # RFC 8176: a device-bound key with user verification is two factors.
    assert session_amr(server, context) == ["hwk", "mfa"]
    assert console_errors == []


def test_passkeys_in_the_email_fields_autofill(server, make_user, chromium_page, console_errors):
    """Conditional mediation (WebAuthn L3 §5.1.4.1): the sign-in page asks for a passkey with
    mediation "conditional" as soon as it loads, so the email field's autofill (its
    autocomplete says "username webauthn") lists passkeys. Headless Chromium draws no list,
    but with a virtual authenticator that simulates presence it answers the conditional
    request with the passkey itself, as a person picking it from the list would."""
    context, page, _authenticator = chromium_page
    make_user(EMAIL, name="Grace Hopper")
    sign_in_with_password(page, EMAIL)
    add_passkey(page, "Laptop")
    context.clear_cookies()  # signed out, staying off the sign-in page until recording
    context.add_init_script(RECORD_GETS)

    # The page itself starts the conditional request; the answer may come before any focus.
    page.goto("/sign-in")

    expect(page).to_have_url("/account")
    assert page.evaluate(GETS) == ["conditional"]  # no button was pressed
    expect(page.get_by_text("Signed in as")).to_contain_text(EMAIL)
    assert session_amr(server, context) == ["hwk", "mfa"]
    assert console_errors == []


def test_the_passkey_button_cancels_the_autofill_request(
    server, make_user, chromium_page, console_errors
):
    """Only one WebAuthn request runs at a time: pressing the button aborts the pending
    conditional request (AbortController) and asks again, modally."""
    context, page, _authenticator = chromium_page
    make_user(EMAIL, name="Grace Hopper")
    sign_in_with_password(page, EMAIL)
    add_passkey(page, "Laptop")
    context.clear_cookies()
    # The autofill request starts but never completes, as when nobody picks from the list.
    context.add_init_script(PENDING_AUTOFILL)

    page.goto("/sign-in")
    expect(page.locator("[data-passkeys=sign-in]")).to_have_attribute(
        "data-passkeys-autofill", "pending"
    )
    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page).to_have_url("/account")
    assert page.evaluate(GETS) == ["conditional", "optional"]
    assert page.evaluate("sessionStorage.getItem('autofillAborted')") == "yes"
    assert session_amr(server, context) == ["hwk", "mfa"]
    assert console_errors == []


def test_a_passkey_as_the_second_factor(app, server, make_user, chromium_page, console_errors):
    context, page, _authenticator = chromium_page
    context.add_init_script(NO_AUTOFILL)
    make_user(EMAIL, name="Grace Hopper")
    sign_in_with_password(page, EMAIL)
    add_passkey(page, "Laptop")
    with_totp(app, user_id_of(app, EMAIL))
    sign_out(page)

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/sign-in/second-factor")
    expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()
    axe_clean(page)
    page.get_by_role("button", name="Use a passkey").click()

    expect(page).to_have_url("/account")
    assert session_amr(server, context) == ["pwd", "hwk", "mfa"]
    assert console_errors == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
def test_the_passkeys_section_is_accessible_and_fits(make_user, new_context, viewport):
    context = new_context(viewport=viewport)
    context.add_init_script(NO_AUTOFILL)  # else the autofill request signs in at once
    page = context.new_page()
    with_authenticator(context, page)
    make_user(EMAIL, name="Grace Hopper")
    sign_in_with_password(page, EMAIL)
    add_passkey(page, "A passkey with a rather long name for a small screen")
    page.locator("#passkeys summary").first.click()  # the rename form, open

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#passkeys").screenshot(
        path=SCREENSHOTS / f"passkeys-section-{viewport['width']}.png"
    )
    axe_clean(page)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide on a {width[1]} px screen"

    page.goto("/sign-in")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    axe_clean(page)


def test_the_passkey_button_is_hidden_without_webauthn(new_context):
    context = new_context()
    context.add_init_script("delete window.PublicKeyCredential;")
    page = context.new_page()

    page.goto("/sign-in")

    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()


def axe_clean(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, (
        f"{results.generate_snapshot()}\n\n{results.generate_report()}"
    )
