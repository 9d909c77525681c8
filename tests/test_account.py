"""The account page: profile and password changes, and that it needs a session.

A password change needs the current password and a new one that meets the policy (NIST SP
800-63B §5.1.1.2: at least 8 characters, checked against commonly used passwords), and it ends
the account's other sessions (OWASP Session Management Cheat Sheet, "Renew the Session ID After
Any Privilege Level Change"; OWASP Authentication Cheat Sheet, "Change Password Feature").
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.db import db
from idp.identity.models import LoginSession, User
from tests.conftest import PASSWORD, Browser
from tests.support import audit_events

NEW_PASSWORD = "quartz-harbour-82-violin"


@pytest.fixture
def ada(http, make_user) -> Browser:
    """A browser signed in as ada@example.com."""
    make_user("ada@example.com")
    client = Browser(http)
    assert client.sign_in("ada@example.com").status_code == 303
    return client


def _user(app) -> User:
    with app.app_context():
        return db.session.scalars(select(User)).one()


def test_account_page_needs_a_session(browser):
    response = browser.get("/account")

    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/sign-in?next=%2Faccount"


def test_account_page_shows_who_is_signed_in(ada):
    page = ada.get("/account")

    assert page.status_code == 200
    assert "Signed in as <strong>ada@example.com</strong>" in page.text


def test_profile_name_is_trimmed_saved_and_audited(ada, app):
    response = ada.submit("/account", action="/account/profile", name="  Ada   Lovelace  ")

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert "Your profile was saved." in ada.get("/account").text
    assert _user(app).name == "Ada Lovelace"
    assert audit_events(app)[-1] == "profile_changed"


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_name_is_refused_and_nothing_changes(ada, app, snapshot, name):
    before = snapshot()

    response = ada.submit("/account", action="/account/profile", name=name)

    assert response.status_code == 400
    assert "Enter your name." in response.text
    assert snapshot() == before
    assert "profile_changed" not in audit_events(app)


def test_profile_change_without_csrf_token_is_refused(ada, snapshot):
    before = snapshot()

    response = ada.submit("/account", action="/account/profile", csrf=False, name="Mallory")

    assert response.status_code == 400
    assert snapshot() == before


def test_password_change_needs_the_current_password(ada, app, snapshot):
    before = snapshot()

    response = ada.submit(
        "/account",
        action="/account/password",
        current_password="not-" + PASSWORD,
        new_password=NEW_PASSWORD,
    )

    assert response.status_code == 400
    assert "Your current password is incorrect." in response.text
    assert snapshot() == before
    assert "password_changed" not in audit_events(app)


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("short1!", "Use at least 8 characters."),
        ("x" * 129, "Use at most 128 characters."),
        ("password123", "This password is too common."),
    ],
)
def test_password_change_applies_the_password_policy(ada, app, snapshot, new_password, message):
    before = snapshot()

    response = ada.submit(
        "/account",
        action="/account/password",
        current_password=PASSWORD,
        new_password=new_password,
    )

    assert response.status_code == 400
    assert message in response.text
    assert snapshot() == before
    assert "password_changed" not in audit_events(app)


def test_password_change_signs_out_other_sessions_and_replaces_the_password(ada, http, app):
    phone = Browser(http)
    assert phone.sign_in("ada@example.com").status_code == 303
    ada_token = ada.cookie()

    response = ada.submit(
        "/account",
        action="/account/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    page = ada.get("/account")
    assert page.status_code == 200  # this browser stays signed in, with the same session
    assert ada.cookie() == ada_token
    assert "Your password was changed. 1 other session(s) were signed out." in page.text
    assert phone.get("/account").headers["Location"] == "/sign-in?next=%2Faccount"
    with app.app_context():
        assert len(db.session.scalars(select(LoginSession)).all()) == 1
    events = audit_events(app)
    assert "password_changed" in events
    assert events[-1] == "session_revoked"

    assert Browser(http).sign_in("ada@example.com", password=PASSWORD).status_code == 400
    assert Browser(http).sign_in("ada@example.com", password=NEW_PASSWORD).status_code == 303
