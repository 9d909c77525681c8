"""Sign-in: where it leads, the session cookie it sets, what it stores, and how it fails.

- The redirect after sign-in goes only to a path on this site; anything a browser could read as
  another origin falls back to /account (OWASP "Unvalidated Redirects"; the WHATWG URL
  Standard's basic URL parser drops ASCII tab and newline, so "/\\t/evil" is "//evil").
- The cookie is HttpOnly and SameSite=Lax, a session cookie unless "remember" was ticked, when
  it lasts IDP_REMEMBER_TTL seconds (RFC 6265bis §4.1.2).
- The database keeps only the SHA-256 digest of the cookie's token.
- A wrong password and an unknown email are answered identically (OWASP Authentication Cheat
  Sheet, "Authentication and Error Messages"), audited, and change nothing else.
- A password hash made with other Argon2 parameters is replaced on sign-in (RFC 9106 §4).
"""

from __future__ import annotations

import hashlib
import re

import argon2
import pytest
from sqlalchemy import select

from idp.db import db
from idp.identity import passwords
from idp.identity.models import LoginSession, User
from tests.conftest import PASSWORD, Browser
from tests.support import audit_events, set_cookies

WRONG = "The email or password is incorrect."


def test_sign_in_redirects_to_the_account_page(browser, make_user, app):
    make_user("ada@example.com")

    response = browser.sign_in("ada@example.com")

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert browser.get("/account").status_code == 200
    assert audit_events(app) == ["sign_up", "sign_in"]


@pytest.mark.parametrize("target", ["/account?tab=sessions", "/somewhere/else"])
def test_sign_in_returns_to_a_safe_next_path(browser, make_user, target):
    make_user("ada@example.com")

    response = browser.sign_in("ada@example.com", next=target)

    assert response.status_code == 303
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        # Browsers remove tabs and newlines from a URL before parsing it, so these are
        # "//evil.example" in the Location header: another origin.
        "/\t/evil.example",
        "/\n/evil.example",
    ],
)
def test_sign_in_ignores_an_unsafe_next(browser, make_user, target):
    make_user("ada@example.com")

    response = browser.sign_in("ada@example.com", next=target)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"


def test_session_cookie_is_http_only_lax_and_ends_with_the_browser(browser, make_user):
    make_user("ada@example.com")

    response = browser.sign_in("ada@example.com")

    cookie = set_cookies(response)["idp_session"]
    assert cookie.has("HttpOnly")
    assert cookie.get("SameSite") == "Lax"
    assert cookie.get("Path") == "/"
    assert not cookie.has("Max-Age")
    assert not cookie.has("Expires")
    assert not cookie.has("Secure")  # plain http on 127.0.0.1; see test_https.py
    assert not cookie.has("Domain")


@pytest.mark.settings(IDP_REMEMBER_TTL="86400")
def test_remember_me_makes_the_cookie_last_the_remember_ttl(browser, make_user, app):
    make_user("ada@example.com")

    response = browser.sign_in("ada@example.com", remember="y")

    cookie = set_cookies(response)["idp_session"]
    assert cookie.get("Max-Age") == "86400"
    assert cookie.has("Expires")
    assert cookie.has("HttpOnly")
    assert cookie.get("SameSite") == "Lax"
    with app.app_context():
        assert db.session.scalars(select(LoginSession)).one().remember is True


def test_only_the_digest_of_the_session_token_is_stored(browser, make_user, app):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    token = browser.cookie()
    assert token

    with app.app_context():
        row = db.session.scalars(select(LoginSession)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        for column in LoginSession.__table__.columns:
            assert token not in str(getattr(row, column.key)), column.key


def _sign_in_page_without_variables(body: str, email: str) -> str:
    """The page with the CSRF token values and the typed email blanked out."""
    body = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', body)
    body = re.sub(r'(data-csrf=")[^"]+"', r'\1"', body)
    return body.replace(email, "EMAIL")


def test_wrong_password_and_unknown_email_look_the_same(http, make_user, snapshot, app):
    make_user("ada@example.com")
    before = snapshot()

    wrong_password = Browser(http).sign_in("ada@example.com", password="not-" + PASSWORD)
    unknown_email = Browser(http).sign_in("nobody@example.com")

    assert wrong_password.status_code == unknown_email.status_code == 400
    assert WRONG in wrong_password.text
    assert WRONG in unknown_email.text
    assert _sign_in_page_without_variables(
        wrong_password.text, "ada@example.com"
    ) == _sign_in_page_without_variables(unknown_email.text, "nobody@example.com")
    assert "idp_session" not in set_cookies(wrong_password)
    assert "idp_session" not in set_cookies(unknown_email)
    assert snapshot() == before
    assert audit_events(app) == ["sign_up", "sign_in_failed", "sign_in_failed"]


def test_sign_in_accepts_the_email_in_any_case_and_spacing(browser, make_user):
    make_user("ada@example.com")

    response = browser.sign_in("  ADA@Example.COM  ")

    assert response.status_code == 303
    assert browser.get("/account").status_code == 200


def test_sign_in_rehashes_a_password_hashed_with_other_parameters(browser, make_user, app):
    user_id = make_user("ada@example.com")
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user_id).password_hash = weak
        db.session.commit()

    assert browser.sign_in("ada@example.com").status_code == 303

    with app.app_context():
        stored = db.session.get(User, user_id).password_hash
    assert stored != weak
    assert stored.startswith("$argon2id$")
    assert passwords.hasher.check_needs_rehash(stored) is False
    assert passwords.verify_password(stored, PASSWORD)
