"""RP-initiated logout at the end-session endpoint.

OpenID Connect RP-Initiated Logout 1.0 §2 (the request: id_token_hint validated as ours, even
expired; client_id must be its audience; GET and POST), §3 (redirect only to an exactly
registered post_logout_redirect_uri, with state), §4 (after an error, no redirect and the
failed information is not used); §2 and §6: without a valid hint for the signed-in user, the
user confirms first.
Discovery 1.0 §3 / RP-Initiated Logout §2.1: `end_session_endpoint` in the metadata.

Decision for a post_logout_redirect_uri that does not match: the user still signs out (that
is what they asked for, and the URI proves nothing either way), but we never go there: our
own page says so.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import update

from idp.db import db
from idp.oauth.models import Client
from tests.conftest import CSRF, Browser
from tests.oauth.conftest import authorize_url, pkce, query_of
from tests.oauth.issued import issue
from tests.support import audit_events, set_cookies

AFTER_LOGOUT = "https://app.example/signed-out"


@pytest.fixture
def client(make_client):
    return make_client(post_logout_redirect_uris=[AFTER_LOGOUT])


def logout(browser: Browser, **params: str) -> requests.Response:
    return browser.get("/logout?" + urlencode(params))


def confirm(browser: Browser, page: requests.Response | str) -> requests.Response:
    """Press "Sign out" on the confirmation page: post its form as a browser would."""
    html = page if isinstance(page, str) else page.text
    assert CSRF.search(html)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    return browser.http.post(browser.base + "/logout/confirm", data=fields, allow_redirects=False)


def signed_in(browser: Browser) -> bool:
    return browser.get("/account").status_code == 200


def prompt_none(browser: Browser, client) -> dict[str, str]:
    _, challenge = pkce()
    response = browser.get(authorize_url(client, challenge, prompt="none"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(client.redirect_uri)
    return query_of(response.headers["Location"])


def test_discovery_names_the_end_session_endpoint(http):
    metadata = http.get("/.well-known/openid-configuration", timeout=5).json()

    assert metadata["end_session_endpoint"] == http.base + "/logout"


def test_a_valid_hint_signs_out_at_once_and_returns_with_state(http, browser, make_user, client):
    make_user("ada@example.com")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]
    old_cookie = browser.cookie()

    response = logout(
        browser, id_token_hint=id_token, post_logout_redirect_uri=AFTER_LOGOUT, state="s-42"
    )

    assert response.status_code == 303
    assert response.headers["Location"] == AFTER_LOGOUT + "?state=s-42"  # §3
    assert response.headers["Cache-Control"] == "no-store"
    assert set_cookies(response)["idp_session"].clears
    assert not signed_in(browser)
    assert audit_events(http.app)[-1] == "sign_out"
    # The session is over on the server too: the old cookie no longer signs anyone in.
    browser.http.cookies.set("idp_session", old_cookie)
    assert prompt_none(browser, client) == {
        "error": "login_required",
        "state": "st-123",
        "iss": http.base,
    }


def test_prompt_none_fails_with_login_required_after_logout(http, browser, make_user, client):
    make_user("ada@example.com")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]
    assert "code" in prompt_none(browser, client)  # still signed in: a code, silently

    logout(browser, id_token_hint=id_token)

    assert prompt_none(browser, client)["error"] == "login_required"


def test_the_redirect_uri_may_carry_its_own_query(http, browser, make_user, make_client):
    registered = "https://app.example/bye?from=idp"
    client = make_client(post_logout_redirect_uris=[registered])
    make_user("ada@example.com")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]

    response = logout(
        browser, id_token_hint=id_token, post_logout_redirect_uri=registered, state="x y"
    )

    assert response.headers["Location"] == registered + "&state=x+y"


def test_without_post_logout_redirect_uri_our_own_page_is_shown(http, browser, make_user, client):
    make_user("ada@example.com")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]

    response = logout(browser, id_token_hint=id_token, state="s-42")

    assert response.status_code == 200
    assert "<h1>You are signed out</h1>" in response.text
    assert "To go on using Test App, go back to it and sign in again." in response.text
    assert not signed_in(browser)


def test_an_expired_hint_is_still_accepted(http, browser, make_user, make_client):
    """§2: the OP SHOULD accept an ID Token whose exp has passed."""
    client = make_client(post_logout_redirect_uris=[AFTER_LOGOUT])
    with http.app.app_context():
        db.session.execute(
            update(Client).where(Client.client_id == client.client_id).values(id_token_ttl=-60)
        )
        db.session.commit()
    make_user("ada@example.com")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]

    response = logout(browser, id_token_hint=id_token, post_logout_redirect_uri=AFTER_LOGOUT)

    assert response.headers["Location"] == AFTER_LOGOUT
    assert not signed_in(browser)


def test_the_rp_may_post_the_request(http, browser, make_user, client):
    """§2: GET and POST. A browser sends no SameSite=Lax cookie with another site's POST, so
    the POST is answered with a 303 to the same request as a GET, which carries it."""
    make_user("ada@example.com")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]
    fields = {"id_token_hint": id_token, "post_logout_redirect_uri": AFTER_LOGOUT, "state": "p"}

    posted = http.post("/logout", data=fields, allow_redirects=False, timeout=5)

    assert posted.status_code == 303
    assert posted.headers["Location"] == "/logout?" + urlencode(fields)
    assert signed_in(browser)
    response = browser.get(posted.headers["Location"])
    assert response.headers["Location"] == AFTER_LOGOUT + "?state=p"
    assert not signed_in(browser)


@pytest.mark.parametrize(
    "asked",
    [
        "https://evil.example/signed-out",
        AFTER_LOGOUT + "/",
        AFTER_LOGOUT + "?next=https://evil.example",
        "https://APP.example/signed-out",
        "http://app.example/signed-out",
    ],
    ids=["other-site", "trailing-slash", "extra-query", "case", "http"],
)
def test_an_unregistered_or_altered_uri_is_never_followed(http, browser, make_user, client, asked):
    """§3: only an exact match of a registered post_logout_redirect_uri."""
    make_user("ada@example.com")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]

    response = logout(browser, id_token_hint=id_token, post_logout_redirect_uri=asked, state="s")

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "<h1>You are signed out</h1>" in response.text
    assert "Test App asked to send you to an address it has not registered." in response.text
    assert not signed_in(browser)  # our decision: the user asked to sign out, so they are


def test_another_clients_registered_uri_is_not_followed(
    http, browser, make_user, client, make_client
):
    """The hint's audience decides whose registered URIs count."""
    elsewhere = "https://other.example/bye"
    make_client(name="Other App", post_logout_redirect_uris=[elsewhere])
    make_user("ada@example.com")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]

    response = logout(browser, id_token_hint=id_token, post_logout_redirect_uri=elsewhere)

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "Test App asked to send you to an address it has not registered." in response.text


def test_without_a_hint_the_user_confirms_first(http, browser, make_user, client, snapshot):
    """§2: without a hint the OP MUST ask the user, so nothing happens until they confirm;
    with client_id, the registered URI still gets the user back (§3)."""
    make_user("ada@example.com")
    issue(http, browser, client, scope="openid profile email")
    before = snapshot()

    page = logout(
        browser, client_id=client.client_id, post_logout_redirect_uri=AFTER_LOGOUT, state="s"
    )

    assert page.status_code == 200
    assert "<h1>Sign out of " in page.text
    assert "Test App asked to sign you out." in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert snapshot() == before
    assert signed_in(browser)
    response = confirm(browser, page)
    assert response.status_code == 303
    assert response.headers["Location"] == AFTER_LOGOUT + "?state=s"
    assert not signed_in(browser)


def test_a_bare_logout_link_asks_then_shows_our_page(http, browser, make_user):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")

    page = logout(browser)

    assert "An app asked to sign you out." in page.text
    response = confirm(browser, page)
    assert response.status_code == 200
    assert "<h1>You are signed out</h1>" in response.text
    assert 'action="/sign-out"' not in response.text  # the header no longer offers to sign out
    assert not signed_in(browser)


def test_a_post_logout_uri_without_a_client_is_never_followed(http, browser, make_user, client):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")

    page = logout(browser, post_logout_redirect_uri=AFTER_LOGOUT)
    response = confirm(browser, page)

    assert response.status_code == 200
    assert "did not say which app sent it" in response.text
    assert not signed_in(browser)


def test_the_confirmation_needs_our_csrf_token(http, browser, make_user, snapshot):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    before = snapshot()

    response = browser.http.post(browser.base + "/logout/confirm", allow_redirects=False)

    assert response.status_code == 400
    assert "did not come from this site" in response.text
    assert snapshot() == before
    assert signed_in(browser)


def test_a_hint_for_another_user_asks_first(http, browser, make_user, client):
    make_user("ada@example.com")
    make_user("grace@example.com", name="Grace")
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]
    browser.sign_in("grace@example.com")

    page = logout(browser, id_token_hint=id_token, post_logout_redirect_uri=AFTER_LOGOUT)

    assert "<h1>Sign out of " in page.text
    assert "grace@example.com" in page.text
    assert signed_in(browser)
    response = confirm(browser, page)
    assert response.headers["Location"] == AFTER_LOGOUT
    assert not signed_in(browser)


@pytest.mark.parametrize("forge", ["tampered", "access-token", "garbage"])
def test_a_hint_we_cannot_verify_is_not_used(http, browser, make_user, client, forge):
    """§2: the OP MUST validate that it issued the ID Token; §4: what failed is not used, so
    the user confirms, and nothing sends them back to the app."""
    make_user("ada@example.com")
    tokens = issue(http, browser, client, scope="openid profile email")
    header, payload, signature = tokens["id_token"].split(".")
    hint = {
        "tampered": f"{header}.{payload}.{signature[:-4]}AAAA",
        "access-token": tokens["access_token"],  # signed by us, but typ at+jwt
        "garbage": "not-a-jwt",
    }[forge]

    page = logout(browser, id_token_hint=hint, post_logout_redirect_uri=AFTER_LOGOUT)

    assert "<h1>Sign out of " in page.text
    assert signed_in(browser)
    response = confirm(browser, page)
    assert response.status_code == 200
    assert "could not be verified" in response.text
    assert not signed_in(browser)


def test_a_client_id_that_is_not_the_hints_audience_is_refused(
    http, browser, make_user, client, make_client, snapshot
):
    """§2: when both are present, client_id MUST match the ID Token's audience."""
    make_user("ada@example.com")
    other = make_client(name="Other App", post_logout_redirect_uris=[AFTER_LOGOUT])
    id_token = issue(http, browser, client, scope="openid profile email")["id_token"]
    before = snapshot()

    response = logout(
        browser,
        id_token_hint=id_token,
        client_id=other.client_id,
        post_logout_redirect_uri=AFTER_LOGOUT,
    )

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "client_id is not the audience of id_token_hint. (invalid_request)" in response.text
    assert snapshot() == before
    assert signed_in(browser)


def test_an_unknown_client_id_is_refused(http, browser, make_user, snapshot):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    before = snapshot()

    response = logout(browser, client_id="nobody", post_logout_redirect_uri=AFTER_LOGOUT)

    assert response.status_code == 400
    assert "client_id names no registered application. (invalid_request)" in response.text
    assert snapshot() == before
    assert signed_in(browser)


def test_a_confirmation_is_validated_again(http, browser, make_user, client, make_client):
    """The hidden fields come back from the browser: a changed one is checked like new."""
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    page = logout(browser, client_id=client.client_id, post_logout_redirect_uri=AFTER_LOGOUT)
    forged = page.text.replace(AFTER_LOGOUT, "https://evil.example/")

    response = confirm(browser, forged)

    assert "Location" not in response.headers
    assert "has not registered" in response.text


def test_when_nobody_is_signed_in_there_is_nothing_to_confirm(http, browser, client):
    response = logout(
        browser, client_id=client.client_id, post_logout_redirect_uri=AFTER_LOGOUT, state="s"
    )

    assert response.status_code == 303
    assert response.headers["Location"] == AFTER_LOGOUT + "?state=s"


def test_ui_locales_is_accepted(http, browser, client):
    response = logout(browser, ui_locales="fr-CA fr en")

    assert response.status_code == 200
    assert "<h1>You are signed out</h1>" in response.text
