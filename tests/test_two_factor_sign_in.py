"""The second-factor page: after the password, an authenticator code (RFC 6238), a backup
code or an emailed code; failures locked out; the pending sign-in is no session; "trust this
device"; step-up for a signed-in user (RFC 8176 amr gains otp and mfa)."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from idp.core.security import digest
from idp.db import db
from idp.identity import login as authn
from idp.identity.two_factor_models import TrustedDevice
from tests.conftest import Browser, free_port, text_of
from tests.oauth.conftest import authorize_url, pkce
from tests.support import audit_events, set_cookies
from tests.test_two_factor import (
    EMAIL,
    SECOND_FACTOR,
    code_at,
    is_signed_in,
    session_of,
    sign_in_to_second_factor,
    signed_in,
    steady_now,
    with_two_factor,
)

pytestmark = pytest.mark.usefixtures("steady_totp_step")

TO_SIGN_IN = "/sign-in?next=%2Faccount"


@pytest.fixture
def ada(app, make_user):
    """Ada, with two-factor on: (user id, TOTP secret, backup codes)."""
    user_id = make_user(EMAIL)
    secret, codes = with_two_factor(app, user_id)
    return user_id, secret, codes


# --- Authenticator code ---------------------------------------------------------------------


def test_password_then_authenticator_code_signs_in_with_two_factors(http, app, ada):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    page = browser.get(SECOND_FACTOR)
    assert page.status_code == 200
    assert "Two-step verification" in page.text
    assert 'autocomplete="one-time-code"' in page.text

    response = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret))

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert is_signed_in(browser)
    session = session_of(app, browser)
    assert session is not None
    # RFC 8176 §2: "pwd" and "otp", and "mfa" as they are two factors.
    assert session.amr == ["pwd", "otp", "mfa"]
    assert browser.cookie("idp_pending") is None, "the pending sign-in is over"


@pytest.mark.parametrize(
    "offset", [-1, 1], ids=["previous-step", "next-step"]
)  # RFC 6238 §5.2: one step of drift
def test_codes_of_the_neighbouring_steps_are_accepted(http, ada, offset):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)

    response = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret, offset))

    assert response.status_code == 303
    assert is_signed_in(browser)


@pytest.mark.parametrize("offset", [-2, 2], ids=["two-steps-back", "two-steps-ahead"])
def test_codes_two_steps_off_are_refused(http, app, ada, snapshot, offset):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    before = snapshot()

    response = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret, offset))

    assert response.status_code == 400
    assert "That code is not right." in response.text
    assert snapshot() == before
    assert not is_signed_in(browser)
    assert audit_events(app)[-1] == "second_factor_failed"


def test_a_code_already_used_is_refused(http, app, ada, snapshot):
    # RFC 6238 §5.2: the same OTP is not accepted twice.
    _, secret, _ = ada
    code = code_at(secret)
    first = sign_in_to_second_factor(http)
    assert first.submit(SECOND_FACTOR, method="totp", code=code).status_code == 303
    second = sign_in_to_second_factor(http)
    before = snapshot()

    response = second.submit(SECOND_FACTOR, method="totp", code=code)

    assert response.status_code == 400
    assert "That code was already used. Wait for the next code" in response.text
    assert snapshot() == before
    assert not is_signed_in(second)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Enter the code."),
        ("abcdef", "That code is not right."),
        ("1234567", "That code is not right."),
    ],
)
def test_malformed_codes_are_refused(http, ada, snapshot, code, message):
    browser = sign_in_to_second_factor(http)
    before = snapshot()

    response = browser.submit(SECOND_FACTOR, method="totp", code=code)

    assert response.status_code == 400
    assert message in response.text
    assert snapshot() == before


@pytest.mark.settings(IDP_LOCKOUT_SLOW_AFTER="1", IDP_LOCKOUT_AFTER="2")
def test_repeated_wrong_codes_lock_the_authenticator_code(http, app, ada, mailbox, snapshot, clock):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    wrong = f"{(int(code_at(secret)) + 5) % 1_000_000:06d}"
    assert browser.submit(SECOND_FACTOR, method="totp", code=wrong).status_code == 400

    too_soon = browser.submit(SECOND_FACTOR, method="totp", code=wrong)
    assert too_soon.status_code == 429
    assert "Too many failed attempts. Wait 1 second and try again." in too_soon.text
    clock.advance(1.1)
    assert browser.submit(SECOND_FACTOR, method="totp", code=wrong).status_code == 400
    before = snapshot()

    locked = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret))

    assert locked.status_code == 429
    assert "Too many failed attempts with this authenticator code. It is locked for" in locked.text
    assert snapshot() == before
    assert not is_signed_in(browser)
    assert "credential_locked" in audit_events(app)
    mail = mailbox.wait_for(EMAIL, "were blocked")
    assert "authenticator code" in text_of(mail)
    # Only this credential is locked: a backup code still works.
    _, _, codes = ada
    assert browser.submit(SECOND_FACTOR, method="backup", code=codes[0]).status_code == 303


# --- Backup codes ---------------------------------------------------------------------------


def test_a_backup_code_signs_in_once(http, app, ada, snapshot):
    _, _, codes = ada
    browser = sign_in_to_second_factor(http)
    page = browser.get(SECOND_FACTOR + "?method=backup").text
    assert "Backup code" in page and "you have 10 left" in page

    # Typed in capitals, without the dash: still the code.
    response = browser.submit(
        SECOND_FACTOR, method="backup", code=codes[0].replace("-", " ").upper()
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    session = session_of(app, browser)
    assert session is not None and session.amr == ["pwd", "otp", "mfa"]
    assert "backup_code_used" in audit_events(app)
    assert "9 of 10 backup codes left." in browser.get("/account/security").text
    again = sign_in_to_second_factor(http)
    before = snapshot()
    reused = again.submit(SECOND_FACTOR, method="backup", code=codes[0])
    assert reused.status_code == 400
    assert "That backup code has already been used." in reused.text
    assert snapshot() == before
    assert not is_signed_in(again)


def test_a_wrong_backup_code_is_refused(http, app, ada, snapshot):
    browser = sign_in_to_second_factor(http)
    before = snapshot()

    response = browser.submit(SECOND_FACTOR, method="backup", code="aaaa-bbbb")

    assert response.status_code == 400
    assert "That backup code is not right. Check it for typos." in response.text
    assert snapshot() == before
    assert audit_events(app)[-1] == "second_factor_failed"


# --- Emailed code ---------------------------------------------------------------------------


def test_an_emailed_code_signs_in(http, app, ada, mailbox):
    browser = sign_in_to_second_factor(http)
    page = browser.get(SECOND_FACTOR + "?method=email").text
    assert "Email me a code" in page

    sent = browser.submit(SECOND_FACTOR + "?method=email", action=SECOND_FACTOR + "/email")

    assert sent.status_code == 303
    assert sent.headers["Location"] == SECOND_FACTOR + "?method=email"
    assert (
        f"We emailed a 6-digit code to {EMAIL}" in browser.get(SECOND_FACTOR + "?method=email").text
    )
    mail = mailbox.wait_for(EMAIL, "verification code")
    code = re.search(r"\b(\d{6})\b", text_of(mail))
    assert code
    response = browser.submit(SECOND_FACTOR, method="email", code=code.group(1))
    assert response.status_code == 303
    session = session_of(app, browser)
    assert session is not None and session.amr == ["pwd", "otp", "mfa"]


def test_a_wrong_emailed_code_is_refused(http, app, ada, mailbox, snapshot):
    browser = sign_in_to_second_factor(http)
    browser.submit(SECOND_FACTOR + "?method=email", action=SECOND_FACTOR + "/email")
    code = re.search(r"\b(\d{6})\b", text_of(mailbox.wait_for(EMAIL, "verification code")))
    assert code
    wrong = f"{(int(code.group(1)) + 1) % 1_000_000:06d}"

    response = browser.submit(SECOND_FACTOR, method="email", code=wrong)

    assert response.status_code == 400
    assert "That code is not right. Check the latest email and try again." in response.text
    assert not is_signed_in(browser)
    assert audit_events(app)[-1] == "second_factor_failed"


def test_an_emailed_code_without_asking_is_refused(http, ada, snapshot):
    browser = sign_in_to_second_factor(http)
    before = snapshot()

    response = browser.submit(SECOND_FACTOR, method="email", code="123456")

    assert response.status_code == 400
    assert "That code has expired or was already used. Ask for a new one." in response.text
    assert snapshot() == before


@pytest.mark.settings(IDP_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
def test_a_mail_failure_is_shown_and_nothing_is_stored(http, ada, snapshot):
    browser = sign_in_to_second_factor(http)
    before = snapshot()

    response = browser.submit(SECOND_FACTOR + "?method=email", action=SECOND_FACTOR + "/email")

    assert response.status_code == 503
    assert "We couldn&#39;t send the email just now." in response.text
    assert snapshot() == before


# --- The pending sign-in --------------------------------------------------------------------


def test_a_pending_sign_in_is_not_a_session(http, ada, make_client):
    browser = sign_in_to_second_factor(http)
    client = make_client()
    _, challenge = pkce()

    account = browser.get("/account")
    authorize = browser.get(authorize_url(client, challenge))

    assert account.status_code == 302 and account.headers["Location"] == TO_SIGN_IN
    assert authorize.status_code in (302, 303)
    assert authorize.headers["Location"].startswith("/sign-in?")
    assert browser.get("/account/security").headers["Location"].startswith("/sign-in?")


def test_a_pending_sign_in_expires(http, ada, monkeypatch, snapshot, clock):
    _, secret, _ = ada
    monkeypatch.setattr(authn, "PENDING_TTL", 1)
    browser = sign_in_to_second_factor(http)
    clock.advance(1.5)
    before = snapshot()

    page = browser.get(SECOND_FACTOR)
    posted = browser.submit("/sign-in", action=SECOND_FACTOR, method="totp", code=code_at(secret))

    assert page.status_code == 303 and page.headers["Location"] == "/sign-in"
    assert posted.status_code == 303 and posted.headers["Location"] == "/sign-in"
    assert snapshot() == before
    assert not is_signed_in(browser)


def test_cancel_ends_the_pending_sign_in(http, ada, snapshot):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    page = browser.get(SECOND_FACTOR).text
    assert "Cancel and sign in as someone else" in page

    response = browser.submit(SECOND_FACTOR, action=SECOND_FACTOR + "/cancel")

    assert response.status_code == 303 and response.headers["Location"] == "/sign-in"
    before = snapshot()
    posted = browser.submit("/sign-in", action=SECOND_FACTOR, method="totp", code=code_at(secret))
    assert posted.headers["Location"] == "/sign-in"
    assert snapshot() == before
    assert not is_signed_in(browser)


def test_the_second_factor_page_without_a_sign_in_goes_to_sign_in(http):
    browser = Browser(http)

    response = browser.get(SECOND_FACTOR)

    assert response.status_code == 303 and response.headers["Location"] == "/sign-in"


# --- Trusted devices ------------------------------------------------------------------------


def test_a_trusted_device_skips_the_second_step_without_counting_as_two_factors(http, app, ada):
    user_id, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    page = browser.get(SECOND_FACTOR).text
    assert "Trust this device for 30 days" in page

    response = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret), trust="y")

    cookie = set_cookies(response)["idp_trusted"]
    assert cookie.has("httponly")
    assert cookie.get("samesite") == "Lax"
    assert cookie.get("max-age") == str(30 * 86400)
    assert cookie.get("path") == "/"
    with app.app_context():
        row = db.session.scalar(select(TrustedDevice).where(TrustedDevice.user_id == user_id))
        assert row is not None
        assert row.token_hash == digest(cookie.value), "only the digest is stored"
    assert "trusted_device_added" in audit_events(app)
    browser.submit("/account", action="/sign-out")

    again = browser.sign_in(EMAIL)

    assert again.status_code == 303 and again.headers["Location"] == "/account"
    session = session_of(app, browser)
    # It skips the page, but the session is single-factor: an app asking for multi-factor
    # still sends it to the second step (step-up).
    assert session is not None and session.amr == ["pwd"]
    security = browser.get("/account/security").text
    assert "This device" in security
    other = Browser(http).sign_in(EMAIL)
    assert other.headers["Location"] == SECOND_FACTOR, "another browser is still asked"


def test_without_trust_the_next_sign_in_asks_again(http, ada):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    response = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret))
    assert "idp_trusted" not in set_cookies(response)
    browser.submit("/account", action="/sign-out")

    assert browser.sign_in(EMAIL).headers["Location"] == SECOND_FACTOR


@pytest.mark.settings(IDP_TRUSTED_DEVICE_TTL="1")
def test_trust_expires(http, ada, clock):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    response = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret), trust="y")
    assert set_cookies(response)["idp_trusted"].get("max-age") == "1"
    browser.submit("/account", action="/sign-out")
    # The browser would drop the cookie; send it anyway, as a copied cookie would be.
    clock.advance(1.2)

    assert browser.sign_in(EMAIL).headers["Location"] == SECOND_FACTOR


def test_revoking_a_trusted_device_asks_it_again(http, app, ada):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret), trust="y")
    with app.app_context():
        device_id = db.session.scalar(select(TrustedDevice.id))

    response = browser.submit(
        "/account/security", action=f"/account/security/trusted-devices/{device_id}/revoke"
    )

    assert response.status_code == 303
    assert (
        "That device will be asked for a second factor again."
        in browser.get("/account/security").text
    )
    assert "trusted_device_revoked" in audit_events(app)
    browser.submit("/account", action="/sign-out")
    assert browser.sign_in(EMAIL).headers["Location"] == SECOND_FACTOR


def test_revoking_another_users_device_does_nothing(http, app, ada, make_user, snapshot):
    _, secret, _ = ada
    browser = sign_in_to_second_factor(http)
    browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret), trust="y")
    with app.app_context():
        device_id = db.session.scalar(select(TrustedDevice.id))
    make_user("eve@example.com")
    eve = signed_in(http, "eve@example.com")
    before = snapshot()

    response = eve.submit(
        "/account/security", action=f"/account/security/trusted-devices/{device_id}/revoke"
    )

    assert response.status_code == 303
    assert "That device was no longer trusted." in eve.get("/account/security").text
    assert snapshot() == before


def test_revoke_all_trusted_devices(http, app, ada):
    _, secret, _ = ada
    laptop = sign_in_to_second_factor(http)
    laptop.submit(SECOND_FACTOR, method="totp", code=code_at(secret, -1), trust="y")
    phone = sign_in_to_second_factor(http)
    phone.submit(SECOND_FACTOR, method="totp", code=code_at(secret), trust="y")
    assert laptop.get("/account/security").text.count("Stop trusting") == 2

    response = laptop.submit("/account/security", action="/account/security/trusted-devices/revoke")

    assert response.status_code == 303
    assert (
        "2 devices will be asked for a second factor again." in laptop.get("/account/security").text
    )
    phone.submit("/account", action="/sign-out")
    assert phone.sign_in(EMAIL).headers["Location"] == SECOND_FACTOR


# --- Step-up --------------------------------------------------------------------------------


def test_step_up_adds_the_second_factor_to_the_session(http, app, ada):
    _, secret, _ = ada
    trusted = sign_in_to_second_factor(http)
    trusted.submit(SECOND_FACTOR, method="totp", code=code_at(secret, -1), trust="y")
    trusted.submit("/account", action="/sign-out")
    assert trusted.sign_in(EMAIL).headers["Location"] == "/account"
    session = session_of(app, trusted)
    assert session is not None and session.amr == ["pwd"]

    page = trusted.get(SECOND_FACTOR + "?next=/account/security")
    assert page.status_code == 200
    assert "To continue, confirm it's you" in page.text
    response = trusted.submit(
        SECOND_FACTOR + "?next=/account/security",
        method="totp",
        code=code_at(secret),
        next="/account/security",
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/security"
    session = session_of(app, trusted)
    assert session is not None and session.amr == ["pwd", "otp", "mfa"]


def test_step_up_without_two_factor_says_to_set_it_up(http, make_user, snapshot):
    make_user(EMAIL)
    browser = signed_in(http)

    page = browser.get(SECOND_FACTOR + "?next=/account")

    assert page.status_code == 200
    assert "You have not set up two-factor authentication yet." in page.text
    assert "/account/security?next=" in page.text
    before = snapshot()
    posted = browser.submit(SECOND_FACTOR, method="totp", code="123456", next="/account")
    assert posted.status_code == 400
    assert "Two-factor authentication is not on for this account." in posted.text
    assert snapshot() == before


def test_the_setup_link_from_step_up_returns_to_it(http, make_user):
    make_user(EMAIL)
    browser = signed_in(http)
    steady_now()

    page = browser.get("/account/security?next=%2Fsign-in%2Fsecond-factor%3Fnext%3D%252Faccount")

    assert "/account/security/two-factor?next=" in page.text
    setup = browser.get(
        "/account/security/two-factor?next=%2Fsign-in%2Fsecond-factor%3Fnext%3D%252Faccount"
    ).text
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', setup)
    assert secret
    sealed = re.search(r'name="setup"[^>]*value="([^"]+)"', setup)
    assert sealed
    response = browser.submit(
        "/account/security",
        action="/account/security/two-factor",
        setup=sealed.group(1),
        code=pyotp.TOTP(secret.group(1).replace(" ", "")).now(),
        next="/sign-in/second-factor?next=%2Faccount",
    )
    assert 'href="/sign-in/second-factor?next=%2Faccount"' in response.text
