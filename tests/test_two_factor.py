"""Two-factor on the security page: set up an authenticator app (RFC 6238 TOTP) from a QR
code, backup codes shown once, new backup codes, turning it off; each sensitive step asks for
a fresh sign-in. Also the TOTP check itself at chosen times (RFC 6238 §4, §5.2).

The helpers at the top are shared with tests/test_two_factor_sign_in.py.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from idp.db import db
from idp.identity import two_factor
from idp.identity.models import LoginSession, User
from idp.identity.two_factor_models import BackupCode, TotpFactor
from idp.keys.sealing import Sealer
from tests.conftest import PASSWORD, SECRET, Browser, text_of
from tests.support import audit_events

pytestmark = pytest.mark.usefixtures("steady_totp_step")

EMAIL = "ada@example.com"
SETUP = "/account/security/two-factor"
SECOND_FACTOR = "/sign-in/second-factor"
BACKUP_CODE = re.compile(r"<code>([2-9a-z]{4}-[2-9a-z]{4})</code>")


# --- Helpers shared with the sign-in tests --------------------------------------------------


def steady_now() -> float:
    """Now, in a test that started at the beginning of a 30-s step (the `steady_totp_step`
    fixture, RFC 6238 §4, X = 30): a code computed now is checked by the server in this step."""
    return time.time()


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The code an authenticator app shows `offset_steps` steps from now."""
    return pyotp.TOTP(secret).at(steady_now() + 30 * offset_steps)


def signed_in(http: Any, email: str = EMAIL) -> Browser:
    browser = Browser(http)
    response = browser.sign_in(email)
    assert response.status_code == 303, response.text
    return browser


def secret_on(page: str) -> str:
    match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page)
    assert match, "no secret key on the setup page"
    return match.group(1).replace(" ", "")


def sealed_setup_on(page: str) -> str:
    match = re.search(r'name="setup"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="setup"', page
    )
    assert match, "no setup field on the setup page"
    return match.group(1)


def enable(browser: Browser) -> tuple[str, list[str]]:
    """Turn two-factor on through the setup page, with the code of the previous step (so the
    current and next steps are still unused); returns the secret and the backup codes."""
    page = browser.get(SETUP)
    assert page.status_code == 200, page.text
    secret = secret_on(page.text)
    response = browser.submit(
        SETUP, setup=sealed_setup_on(page.text), code=code_at(secret, -1), next=""
    )
    assert response.status_code == 200, response.text
    codes = BACKUP_CODE.findall(response.text)
    assert len(codes) == 10
    return secret, codes


def with_two_factor(app: Flask, user_id: int) -> tuple[str, list[str]]:
    """Factory: two-factor turned on for a user yesterday; returns secret and backup codes."""
    yesterday = time.time() - 86400
    secret = two_factor.new_secret()
    with app.test_request_context():
        user = db.session.get(User, user_id)
        assert user is not None
        codes = two_factor.enable_totp(user, secret, pyotp.TOTP(secret).at(yesterday), at=yesterday)
    return secret, codes


def sign_in_to_second_factor(http: Any, email: str = EMAIL) -> Browser:
    """A browser whose sign-in passed the password and waits for the second factor."""
    browser = Browser(http)
    response = browser.sign_in(email)
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == SECOND_FACTOR
    return browser


def make_stale(app: Flask, browser: Browser) -> None:
    """Move the browser's sign-in a day back: it is no longer fresh (IDP_SESSION_FRESH_AGE)."""
    with app.app_context():
        row = session_of(app, browser)
        assert row is not None
        row = db.session.merge(row)
        row.authenticated_at -= timedelta(days=1)
        db.session.commit()
        app.extensions["idp.store"].delete("session:" + row.token_hash)


def session_of(app: Flask, browser: Browser) -> LoginSession | None:
    token = browser.cookie()
    if not token:
        return None
    from idp.core.security import digest

    with app.app_context():
        row = db.session.scalar(
            select(LoginSession).where(LoginSession.token_hash == digest(token))
        )
        if row is not None:
            db.session.expunge(row)
        return row


def is_signed_in(browser: Browser) -> bool:
    return browser.get("/account").status_code == 200


# --- Setting up -----------------------------------------------------------------------------


def test_the_setup_page_shows_a_qr_code_the_key_and_an_authenticator_link(http, make_user, app):
    make_user(EMAIL)
    browser = signed_in(http)

    page = browser.get(SETUP).text

    secret = secret_on(page)
    # RFC 4226 §4 (R6): a shared secret of at least 128 bits, 160 recommended (32 base32 chars).
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg, "no inline SVG QR code"
    assert "style=" not in svg.group(0), "the CSP forbids inline style"
    assert "<script" not in page
    link = re.search(r'href="(otpauth://totp/[^"]+)"', page)
    assert link, "no otpauth:// link"
    uri = urlsplit(link.group(1).replace("&amp;", "&"))
    assert unquote(uri.path) == f"/{http.settings.site_name}:{EMAIL}"
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == [http.settings.site_name]
    assert "Open in authenticator app" in page


def test_a_correct_code_turns_two_factor_on_and_shows_ten_backup_codes_once(
    http, make_user, app, mailbox
):
    user_id = make_user(EMAIL)
    browser = signed_in(http)

    secret, codes = enable(browser)

    assert len(set(codes)) == 10
    assert "Two-factor authentication is on." in browser.last.text
    assert browser.last.headers["Cache-Control"] == "no-store"
    security = browser.get("/account/security").text
    assert "10 of 10 backup codes left." in security
    assert not any(code in security for code in codes), "backup codes are shown only once"
    assert {"two_factor_enabled", "backup_codes_generated"} <= set(audit_events(app))
    mail = mailbox.wait_for(EMAIL, "Two-factor authentication")
    assert "was turned on" in text_of(mail)
    with app.app_context():
        factor = db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id))
        assert factor is not None
        # Encrypted at rest, bound to its user: TOTP secrets are never stored in the clear.
        assert secret not in factor.secret_sealed
        opened = Sealer(SECRET).open(factor.secret_sealed, label=f"totp:{user_id}")
        assert opened.decode() == secret
        hashes = [row.code_hash for row in db.session.scalars(select(BackupCode))]
        assert len(hashes) == 10
        assert not any(code in h or code.replace("-", "") in h for code in codes for h in hashes)


def test_a_wrong_code_is_refused_and_nothing_is_turned_on(http, make_user, app, snapshot):
    make_user(EMAIL)
    browser = signed_in(http)
    page = browser.get(SETUP).text
    secret = secret_on(page)
    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
    before = snapshot()

    response = browser.submit(SETUP, setup=sealed_setup_on(page), code=wrong, next="")

    assert response.status_code == 400
    assert "That code is not right." in response.text
    assert 'aria-invalid="true"' in response.text
    assert secret_on(response.text) == secret, "the same key stays, so the app need not rescan"
    assert snapshot() == before
    assert "two_factor_enabled" not in audit_events(app)


@pytest.mark.parametrize(
    ("code", "message"),
    [("", "That code is not right."), ("12345", "That code is not right.")],
)
def test_an_empty_or_short_code_is_refused(http, make_user, snapshot, code, message):
    make_user(EMAIL)
    browser = signed_in(http)
    page = browser.get(SETUP).text
    before = snapshot()

    response = browser.submit(SETUP, setup=sealed_setup_on(page), code=code, next="")

    assert response.status_code == 400
    assert message in response.text
    assert snapshot() == before


def test_a_tampered_setup_form_is_refused(http, make_user, snapshot):
    make_user(EMAIL)
    make_user("eve@example.com")
    eve = signed_in(http, "eve@example.com")
    eves_page = eve.get(SETUP).text
    browser = signed_in(http)
    before = snapshot()

    # Eve's sealed key does not open for Ada: it is bound to the user it was made for.
    response = browser.submit(
        SETUP, setup=sealed_setup_on(eves_page), code=code_at(secret_on(eves_page)), next=""
    )

    assert response.status_code == 400
    assert "The setup form has expired. Scan the new QR code and try again." in response.text
    assert snapshot() == before


def test_setting_up_needs_a_fresh_sign_in(http, make_user, app, snapshot):
    make_user(EMAIL)
    browser = signed_in(http)
    page = browser.get(SETUP).text
    secret = secret_on(page)
    csrf = browser.csrf("/account/security")
    make_stale(app, browser)
    before = snapshot()

    shown = browser.get(SETUP)
    posted = browser.http.post(
        http.base + SETUP,
        data={"csrf_token": csrf, "setup": sealed_setup_on(page), "code": code_at(secret)},
        allow_redirects=False,
    )

    assert shown.status_code == 302
    assert shown.headers["Location"].startswith("/confirm?next=%2Faccount%2Fsecurity%2Ftwo-factor")
    assert posted.status_code == 302
    assert posted.headers["Location"].startswith("/confirm?next=")
    assert snapshot() == before


def test_setting_up_when_already_on_says_so(http, make_user, app, snapshot):
    user_id = make_user(EMAIL)
    browser = signed_in(http)
    with_two_factor(app, user_id)
    before = snapshot()

    response = browser.get(SETUP)

    assert response.status_code == 303
    assert "Two-factor authentication is already on." in browser.get("/account/security").text
    assert snapshot() == before


def test_the_security_page_offers_set_up_when_off(http, make_user):
    make_user(EMAIL)
    browser = signed_in(http)

    page = browser.get("/account/security?next=/account").text

    assert "Set up an authenticator app" in page
    assert 'href="/account/security/two-factor?next=/account"' in page


# --- Backup codes ---------------------------------------------------------------------------


def test_new_backup_codes_replace_the_old_ones(http, make_user, app, mailbox):
    make_user(EMAIL)
    browser = signed_in(http)
    _, old = enable(browser)

    response = browser.submit("/account/security", action=SETUP + "/backup-codes", next="")

    assert response.status_code == 200
    new = BACKUP_CODE.findall(response.text)
    assert len(new) == 10 and not set(new) & set(old)
    assert "Your earlier backup codes no longer work." in response.text
    assert audit_events(app).count("backup_codes_generated") == 2
    mailbox.wait_for(EMAIL, "Two-factor authentication")
    pending = sign_in_to_second_factor(http)
    refused = pending.submit(SECOND_FACTOR, method="backup", code=old[0])
    assert refused.status_code == 400
    assert "That backup code is not right." in refused.text
    accepted = pending.submit(SECOND_FACTOR, method="backup", code=new[0])
    assert accepted.status_code == 303 and accepted.headers["Location"] == "/account"


def test_new_backup_codes_need_a_fresh_sign_in(http, make_user, app, snapshot):
    make_user(EMAIL)
    browser = signed_in(http)
    enable(browser)
    make_stale(app, browser)
    before = snapshot()

    response = browser.submit(
        "/account/security", action=SETUP + "/backup-codes", next="/account/security"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/confirm?next=%2Faccount%2Fsecurity"
    assert snapshot() == before


# --- Turning it off -------------------------------------------------------------------------


def test_turning_off_needs_a_fresh_sign_in_and_changes_nothing_before(
    http, make_user, app, snapshot, mailbox
):
    make_user(EMAIL)
    browser = signed_in(http)
    enable(browser)
    mailbox.wait_for(EMAIL, "Two-factor authentication")
    mailbox.clear()
    make_stale(app, browser)
    before = snapshot()

    response = browser.submit(
        "/account/security", action=SETUP + "/disable", next="/account/security"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/confirm?next=%2Faccount%2Fsecurity"
    assert snapshot() == before
    assert "two_factor_disabled" not in audit_events(app)
    mailbox.assert_nothing_to(EMAIL)
    # After the password, the same button works.
    confirmed = browser.submit(
        "/confirm?next=%2Faccount%2Fsecurity",
        action="/confirm",
        password=PASSWORD,
        next="/account/security",
    )
    assert confirmed.headers["Location"] == "/account/security"
    done = browser.submit("/account/security", action=SETUP + "/disable", next="/account/security")
    assert done.status_code == 303


def test_turning_off_removes_the_app_backup_codes_and_trusted_devices(
    http, make_user, app, snapshot, mailbox
):
    make_user(EMAIL)
    browser = signed_in(http)
    secret, _ = enable(browser)
    browser.submit("/account", action="/sign-out")
    pending = sign_in_to_second_factor(http)
    pending.submit(SECOND_FACTOR, method="totp", code=code_at(secret), trust="y")
    assert is_signed_in(pending)
    mailbox.clear()

    response = pending.submit("/account/security", action=SETUP + "/disable", next="")

    assert response.status_code == 303
    page = pending.get("/account/security").text
    assert "Two-factor authentication is off." in page
    assert "Set up an authenticator app" in page
    tables = snapshot()
    assert tables["totp_factor"] == []
    assert tables["backup_code"] == []
    assert tables["trusted_device"] == []
    assert "two_factor_disabled" in audit_events(app)
    assert "was turned off" in text_of(mailbox.wait_for(EMAIL, "Two-factor authentication"))
    again = Browser(http).sign_in(EMAIL)
    assert again.headers["Location"] == "/account", "no second step any more"


# --- The TOTP check at chosen times (RFC 6238) ----------------------------------------------

T0 = 1_750_000_000.0  # a fixed moment; step T = floor(T0 / 30) (RFC 6238 §4.2)


@pytest.fixture
def totp_user(app, make_user):
    user_id = make_user(EMAIL)
    secret = two_factor.new_secret()
    with app.test_request_context():
        user = db.session.get(User, user_id)
        assert user is not None
        long_ago = T0 - 3600
        two_factor.enable_totp(user, secret, pyotp.TOTP(secret).at(long_ago), at=long_ago)
    return user_id, secret


def check(app: Flask, user_id: int, code: str, at: float) -> str:
    """ "ok", or the message verify_totp refuses the code with."""
    with app.test_request_context():
        user = db.session.get(User, user_id)
        assert user is not None
        try:
            two_factor.verify_totp(user, code, at=at)
        except two_factor.InvalidCode as error:
            return error.message
        return "ok"


@pytest.mark.parametrize(
    ("code_time", "accepted"),
    [
        (T0, True),  # RFC 6238 §4: the code of the current step
        (T0 - 30, True),  # §5.2: one step of drift back is allowed
        (T0 + 30, True),  # §5.2: one step of drift forward is allowed
        (T0 - 60, False),  # two steps back: outside the window
        (T0 + 60, False),  # two steps ahead: outside the window
    ],
    ids=["current", "previous-step", "next-step", "two-steps-back", "two-steps-ahead"],
)
def test_totp_accepts_one_step_of_drift_and_no_more(app, totp_user, code_time, accepted):
    user_id, secret = totp_user

    result = check(app, user_id, pyotp.TOTP(secret).at(code_time), at=T0)

    if accepted:
        assert result == "ok"
    else:
        assert result.startswith("That code is not right.")


def test_totp_refuses_a_code_already_used(app, totp_user, snapshot):
    # RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the same OTP after
    # the successful validation has been issued for the first OTP".
    user_id, secret = totp_user
    code = pyotp.TOTP(secret).at(T0)
    assert check(app, user_id, code, at=T0) == "ok"
    before = snapshot()

    assert check(app, user_id, code, at=T0 + 5).startswith("That code was already used.")
    # An older code in the window is refused too: only newer steps are accepted.
    previous = pyotp.TOTP(secret).at(T0 - 30)
    assert check(app, user_id, previous, at=T0 + 5).startswith("That code was already used.")
    assert snapshot() == before
    assert check(app, user_id, pyotp.TOTP(secret).at(T0 + 30), at=T0 + 30) == "ok"


def test_totp_parameters_are_the_ones_authenticator_apps_use():
    # RFC 6238 §4 / §5.2 defaults, and what Google Authenticator and others support.
    assert two_factor.STEP_SECONDS == 30
    assert two_factor.DIGITS == 6
    assert two_factor.VALID_WINDOW == 1
    totp = pyotp.TOTP("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")  # RFC 6238 Appendix B's key, base32
    assert totp.at(59) == "287082"  # Appendix B, T = 59 s, SHA-1, last 6 of 94287082
