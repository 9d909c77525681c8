"""Apps with access: the account page lists what each app was allowed, and removes it.

Removing an app's access forgets the consent, so the next authorization asks again
(OpenID Connect Core §3.1.2.4), and revokes every token the app holds for the user, so its
access token is refused at the UserInfo endpoint (RFC 6750 §3.1 `invalid_token`, Core §5.3.3).
"""

from __future__ import annotations

import re

import requests

from tests.conftest import Browser
from tests.oauth.conftest import authorize_url, pkce, query_of
from tests.oauth.issued import issue
from tests.support import audit_events

REVOKE = re.compile(r'action="(/account/apps/\d+/revoke)"')


def userinfo(http, access_token: str) -> requests.Response:
    return http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=5)


def apps_section(browser: Browser) -> str:
    page = browser.get("/account").text
    return page[page.index('<section aria-labelledby="apps-heading"') :]


def test_the_account_page_lists_each_app_and_what_it_may_do(http, browser, make_user, make_client):
    make_user("ada@example.com")
    calendar = make_client(name="Calendar")
    notes = make_client(name="Notes", client_uri="https://notes.example")
    issue(http, browser, calendar, scope="openid email")
    issue(http, browser, notes, scope="openid profile")

    section = apps_section(browser)

    assert '<h2 id="apps-heading">Apps with access</h2>' in section
    assert section.index("Calendar") > section.index("Notes")  # most recent first
    assert "See your email address" in section and "See your name" in section
    assert "Know who you are" in section
    assert "https://notes.example" in section
    assert '<td data-label="Allowed on"><time datetime="' in section
    assert 'aria-label="Remove access for Calendar"' in section
    assert len(REVOKE.findall(section)) == 2


def test_with_no_app_the_section_says_so(http, browser, make_user):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")

    assert "No apps have access to your account." in apps_section(browser)


def test_removing_access_revokes_tokens_and_asks_for_consent_again(
    http, browser, make_user, make_client
):
    make_user("ada@example.com")
    client = make_client(name="Calendar")
    tokens = issue(http, browser, client, scope="openid email")
    assert userinfo(http, tokens["access_token"]).status_code == 200
    action = REVOKE.search(apps_section(browser))
    assert action

    response = browser.submit("/account", action=action.group(1))

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    page = browser.get("/account").text
    assert "Calendar no longer has access to your account." in page
    assert "No apps have access to your account." in page
    assert audit_events(http.app)[-1] == "consent_revoked"
    refused = userinfo(http, tokens["access_token"])
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # The next authorization asks again instead of issuing a code silently.
    _, challenge = pkce()
    again = browser.get(authorize_url(client, challenge, scope="openid email"))
    assert again.status_code == 302
    assert again.headers["Location"].startswith("/authorize/consent/")
    _, challenge = pkce()
    silent = browser.get(authorize_url(client, challenge, scope="openid email", prompt="none"))
    assert query_of(silent.headers["Location"])["error"] == "consent_required"


def test_removing_one_app_leaves_the_others(http, browser, make_user, make_client):
    make_user("ada@example.com")
    calendar = make_client(name="Calendar")
    notes = make_client(name="Notes")
    calendar_tokens = issue(http, browser, calendar, scope="openid")
    notes_tokens = issue(http, browser, notes, scope="openid")
    section = apps_section(browser)
    notes_action = REVOKE.findall(section)[0]  # Notes: the most recent

    browser.submit("/account", action=notes_action)

    assert "Calendar" in apps_section(browser)
    assert userinfo(http, calendar_tokens["access_token"]).status_code == 200
    assert userinfo(http, notes_tokens["access_token"]).status_code == 401


def test_another_users_app_cannot_be_removed(http, browser, make_user, make_client, snapshot):
    make_user("ada@example.com")
    make_user("grace@example.com", name="Grace")
    client = make_client(name="Calendar")
    tokens = issue(http, browser, client, scope="openid")
    action = REVOKE.search(apps_section(browser))
    assert action
    intruder = Browser(http)
    intruder.sign_in("grace@example.com")
    before = snapshot()

    response = intruder.submit("/account", action=action.group(1))

    assert response.status_code == 303
    assert "That app had no access to your account." in intruder.get("/account").text
    assert snapshot() == before
    assert userinfo(http, tokens["access_token"]).status_code == 200


def test_removing_needs_our_csrf_token(http, browser, make_user, make_client, snapshot):
    make_user("ada@example.com")
    client = make_client(name="Calendar")
    issue(http, browser, client, scope="openid")
    action = REVOKE.search(apps_section(browser))
    assert action
    before = snapshot()

    response = browser.submit("/account", action=action.group(1), csrf=False)

    assert response.status_code == 400
    assert "did not come from this site" in response.text
    assert snapshot() == before


def test_removing_needs_a_signed_in_user(http, browser, make_user, make_client, snapshot):
    make_user("ada@example.com")
    client = make_client(name="Calendar")
    issue(http, browser, client, scope="openid")
    action = REVOKE.search(apps_section(browser))
    assert action
    stranger = Browser(http)
    before = snapshot()

    response = stranger.submit("/sign-in", action=action.group(1))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?")
    assert snapshot() == before
