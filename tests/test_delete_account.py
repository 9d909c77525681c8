"""Deleting the account from the account page.

It needs a fresh sign-in and the address typed out (a deliberate act, not a misclick); it
removes the account and everything that hangs off it (the `ON DELETE CASCADE` foreign keys:
sessions, one-time links, OAuth codes, refresh-token families and tokens, consents, second
factors), keeps the audit trail (`ON DELETE SET NULL`) with an `account_deleted` event, mails
a notice, and signs the browser out.
"""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from idp.core.audit import AuditEvent
from idp.db import Model, db, utcnow
from idp.identity import one_time, two_factor
from idp.identity.models import User
from idp.oauth.models import AuthorizationCode, Client, Consent, RefreshToken, TokenFamily
from tests.conftest import PASSWORD, Browser, text_of
from tests.helpers.waiting import assert_no_mail_to

EMAIL = "ada@example.com"


@pytest.fixture
def ada(http, make_user) -> Browser:
    make_user(EMAIL)
    client = Browser(http)
    assert client.sign_in(EMAIL).status_code == 303
    return client


def delete(browser: Browser, typed: str):
    return browser.submit(
        "/account", action="/account/delete", confirm_email=typed, next="/account/delete"
    )


def give_the_account_everything(app, make_client) -> int:
    """OAuth rows, a one-time link and a second factor for the account; returns its id."""
    registered = make_client()
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        client_id = db.session.scalar(
            select(Client.id).where(Client.client_id == registered.client_id)
        )
        later = utcnow() + timedelta(hours=1)
        db.session.add(Consent(user_id=user.id, client_id=client_id, scopes=["openid"]))
        db.session.add(
            AuthorizationCode(
                code_hash="c" * 64,
                client_id=client_id,
                user_id=user.id,
                redirect_uri=registered.redirect_uri,
                scope="openid",
                code_challenge="x" * 43,
                code_challenge_method="S256",
                auth_time=utcnow(),
                expires_at=later,
            )
        )
        db.session.add(
            TokenFamily(
                id="f" * 32, client_id=client_id, user_id=user.id, scope="openid", expires_at=later
            )
        )
        db.session.flush()
        db.session.add(RefreshToken(token_hash="r" * 64, family_id="f" * 32, expires_at=later))
        one_time.issue_link("password_reset", user, ttl=600)
        db.session.commit()
        secret = two_factor.new_secret()
        two_factor.enable_totp(user, secret, pyotp.TOTP(secret).now())
        return user.id


def rows_of(app, user_id: int) -> dict[str, int]:
    """How many rows of each table (but the audit log) point at the user."""
    counts = {}
    with app.app_context():
        for table in Model.metadata.sorted_tables:
            if "user_id" in table.c and table.name != "audit_event":
                counts[table.name] = db.session.scalar(
                    select(func.count()).select_from(table).where(table.c.user_id == user_id)
                )
    return counts


def test_the_page_asks_to_type_the_address(ada):
    page = ada.get("/account/delete")

    assert page.status_code == 200
    assert "It cannot be undone." in page.text
    assert "Your email address" in page.text


def test_deleting_removes_the_account_and_everything_it_had(http, ada, app, make_client, mailbox):
    user_id = give_the_account_everything(app, make_client)
    other = Browser(http)
    assert other.sign_in(EMAIL).status_code == 303
    assert all(rows_of(app, user_id)[t] for t in ("login_session", "oauth_consent", "oauth_code"))

    response = delete(ada, " Ada@Example.com ")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    assert "Your account and everything in it were deleted." in ada.get("/sign-in").text
    assert ada.cookie() is None
    assert other.get("/account").status_code == 302
    assert set(rows_of(app, user_id).values()) == {0}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        assert db.session.scalar(select(func.count()).select_from(RefreshToken)) == 0
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.event, last.user_id, last.subject) == ("account_deleted", None, EMAIL)
    notice = mailbox.wait_for(EMAIL, "Your account was deleted")
    assert "Your Identity account and everything in it were deleted" in text_of(notice)
    assert Browser(http).sign_in(EMAIL).status_code == 400


@pytest.mark.parametrize("typed", ["", "someone@example.com", "ada@example"])
def test_a_wrong_confirmation_deletes_nothing(ada, snapshot, mailbox, typed):
    before = snapshot()

    response = delete(ada, typed)

    assert response.status_code == 400
    assert "Type your email address exactly as shown above to confirm. Nothing was deleted." in (
        response.text
    )
    assert snapshot() == before
    assert ada.get("/account").status_code == 200
    assert_no_mail_to(mailbox, EMAIL)


@pytest.mark.settings(IDP_SESSION_FRESH_AGE="1")
def test_deleting_needs_a_fresh_sign_in(ada, snapshot, clock):
    clock.advance(1.1)
    before = snapshot()

    assert (
        ada.get("/account/delete")
        .headers["Location"]
        .startswith("/confirm?next=%2Faccount%2Fdelete")
    )
    response = delete(ada, EMAIL)

    assert response.status_code == 302
    assert response.headers["Location"] == "/confirm?next=%2Faccount%2Fdelete"
    assert snapshot() == before
    ada.submit("/confirm", password=PASSWORD, next="/account/delete")
    assert delete(ada, EMAIL).status_code == 303


def test_deleting_needs_a_session(browser, snapshot):
    before = snapshot()

    response = browser.get("/account/delete")

    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=%2Faccount%2Fdelete"
    assert snapshot() == before
