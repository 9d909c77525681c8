"""Sign-up: the account is created, signed in, and bad input changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.identity.models import User
from tests.conftest import PASSWORD


def test_sign_up_creates_the_account_and_signs_in(browser, app):
    response = browser.sign_up("  Grace.Hopper@Example.COM ", name="  Grace   Hopper ")

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert browser.get("/account").status_code == 200
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.email == "grace.hopper@example.com"  # trimmed and lower-cased
        assert user.name == "Grace Hopper"
        assert user.password_hash.startswith("$argon2id$")
        events = [e.event for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert events == ["sign_up", "sign_in"]


def test_duplicate_email_is_refused_whatever_its_case(browser, make_user, snapshot):
    make_user("ada@example.com")
    before = snapshot()

    response = browser.sign_up("ADA@example.com ")

    assert response.status_code == 400
    assert "An account with this email already exists." in response.text
    assert 'aria-invalid="true"' in response.text
    assert snapshot() == before
    assert browser.cookie() is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address, like name@example.com."),
        ({"email": ""}, "Enter your email address."),
        ({"name": "   "}, "Enter your name."),
        ({"password": "short1!"}, "Use at least 8 characters."),
        ({"password": "x" * 129}, "Use at most 128 characters."),
        ({"password": "password123"}, "This password is too common."),
        ({"password": "Qwertyuiop"}, "This password is too common."),
    ],
)
def test_bad_sign_up_input_is_explained_and_stores_nothing(browser, snapshot, fields, message):
    before = snapshot()
    data = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, **fields}

    response = browser.submit("/sign-up", **data)

    assert response.status_code == 400
    assert message in response.text
    assert snapshot() == before


def test_sign_up_without_csrf_token_is_refused(browser, snapshot):
    before = snapshot()

    response = browser.submit(
        "/sign-up", csrf=False, name="Ada", email="ada@example.com", password=PASSWORD
    )

    assert response.status_code == 400
    assert "This form expired or did not come from this site." in response.text
    assert snapshot() == before


def test_sign_up_with_a_wrong_csrf_token_is_refused(browser, snapshot):
    before = snapshot()
    browser.get("/sign-up")

    response = browser.http.post(
        browser.base + "/sign-up",
        data={"csrf_token": "forged", "name": "A", "email": "a@example.com", "password": PASSWORD},
        allow_redirects=False,
    )

    assert response.status_code == 400
    assert "This form expired or did not come from this site." in response.text
    assert snapshot() == before
