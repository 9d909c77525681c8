"""Passkeys over HTTP, with a software authenticator (tests/webauthn_authenticator.py).

WebAuthn Level 3: registration options (§5.4) and the registration ceremony (§7.1), request
options (§5.5) and the authentication ceremony (§7.2), the signature counter (§6.1.1), backup
flags (§6.1.3). RFC 8176 for the `amr` a passkey sign-in gives the session. Every refusal
checks the message and that nothing stored changed (`snapshot()`).
"""

from __future__ import annotations

import secrets
import struct
import time
from datetime import timedelta
from typing import Any

import cbor2
import pyotp
import pytest
import requests
from flask import Flask
from sqlalchemy import select

from idp.core.security import digest
from idp.db import db
from idp.identity import two_factor
from idp.identity.models import LoginSession, User
from idp.identity.passkeys import Passkey, PasskeyUserHandle
from tests.conftest import AppClient, Browser, text_of
from tests.support import audit_events
from tests.webauthn_authenticator import SoftAuthenticator, b64url, unb64url

EMAIL = "ada@example.com"
OTHER = "bob@example.com"
ICLOUD_KEYCHAIN = bytes.fromhex("fbfc3007154e4ecc8c0b6e020557d7bd")


class PasskeyClient:
    """A browser (cookies, CSRF token) that talks to the passkey endpoints the way
    static/js/passkeys.js does, with a software authenticator in place of the browser's."""

    def __init__(self, http: AppClient, authenticator: SoftAuthenticator | None = None):
        self.browser = Browser(http)
        self.authenticator = authenticator or SoftAuthenticator(origin=http.base)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        token = self.browser.csrf("/sign-in")
        return self.browser.http.post(
            self.browser.base + path,
            json=body,
            headers={"X-CSRFToken": token, "Accept": "application/json"},
            allow_redirects=False,
        )

    def registration_options(self, name: str = "") -> dict[str, Any]:
        response = self.post("/account/passkeys/options", {"name": name})
        assert response.status_code == 200, response.text
        options: dict[str, Any] = response.json()
        return options

    def register(self, name: str = "", **breakage: Any) -> requests.Response:
        options = self.registration_options(name)
        credential = self.authenticator.create(options, **breakage)
        return self.post("/account/passkeys", {"credential": credential, "name": name})

    def sign_in_options(self) -> dict[str, Any]:
        response = self.post("/sign-in/passkey/options", {})
        assert response.status_code == 200, response.text
        options: dict[str, Any] = response.json()
        return options

    def sign_in(self, next_url: str = "", **breakage: Any) -> requests.Response:
        credential = self.authenticator.get(self.sign_in_options(), **breakage)
        return self.post("/sign-in/passkey", {"credential": credential, "next": next_url})

    def second_factor_options(self) -> dict[str, Any]:
        response = self.post("/sign-in/second-factor/passkey/options", {})
        assert response.status_code == 200, response.text
        options: dict[str, Any] = response.json()
        return options

    def second_factor(self, **breakage: Any) -> requests.Response:
        credential = self.authenticator.get(self.second_factor_options(), **breakage)
        return self.post("/sign-in/second-factor/passkey", {"credential": credential})


@pytest.fixture
def ada(http: AppClient, make_user: Any) -> PasskeyClient:
    """Ada, signed in with her password (a fresh session) and one passkey registered."""
    make_user(EMAIL, name="Ada Lovelace")
    client = PasskeyClient(http)
    assert client.browser.sign_in(EMAIL).status_code == 303
    response = client.register("Laptop")
    assert response.status_code == 201, response.text
    return client


def passkeys_in_db(app: Flask) -> list[Passkey]:
    with app.app_context():
        rows = list(db.session.scalars(select(Passkey).order_by(Passkey.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def session_amr(app: Flask, browser: Browser) -> list[str] | None:
    token = browser.cookie()
    if not token:
        return None
    with app.app_context():
        row = db.session.scalar(
            select(LoginSession).where(LoginSession.token_hash == digest(token))
        )
        return list(row.amr) if row else None


def signed_out(http: AppClient, ada: PasskeyClient) -> PasskeyClient:
    """A new browser (no cookies) with Ada's authenticator: nobody typed an email."""
    return PasskeyClient(http, ada.authenticator)


def refused(response: requests.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert message in response.json()["message"], response.json()


# Registration (§5.4 options, §7.1 ceremony)


def test_adding_a_passkey_stores_it_and_tells_the_owner(app, http, make_user, mailbox):
    make_user(EMAIL, name="Ada Lovelace")
    client = PasskeyClient(http)
    client.browser.sign_in(EMAIL)

    response = client.register("Work laptop")

    assert response.status_code == 201, response.text
    assert response.json() == {"redirect": "/account/security"}
    [passkey] = passkeys_in_db(app)
    [credential] = client.authenticator.credentials.values()
    assert passkey.credential_id == b64url(credential.id)
    assert passkey.public_key == credential.cose_key()
    assert passkey.name == "Work laptop"
    assert passkey.sign_count == 0
    assert passkey.transports == ["internal"]
    assert (passkey.backup_eligible, passkey.backed_up) == (False, False)
    assert passkey.device_type == "single_device"
    assert passkey.aaguid == "00000000-0000-0000-0000-000000000000"
    assert passkey.last_used_at is None
    assert "passkey_added" in audit_events(app)
    message = mailbox.wait_for(EMAIL, "A passkey was added")
    assert "Work laptop" in text_of(message)
    assert f"{http.base}/account/security" in text_of(message)
    page = client.browser.get("/account/security").text
    assert "Passkey “Work laptop” added" in page
    assert "Work laptop" in page and "Device-bound" in page and "not used yet" in page


def test_registration_options_follow_the_policy(app, http, make_user):
    """§5.4: RP, a random 64-byte user handle (not the email or id), a discoverable
    credential preferred, UV preferred, no attestation, ES256/EdDSA/RS256, and the
    user's passkeys excluded so an authenticator is not registered twice."""
    user_id = make_user(EMAIL, name="Ada Lovelace")
    client = PasskeyClient(http)
    client.browser.sign_in(EMAIL)
    client.register("First")

    options = client.registration_options()

    assert options["rp"] == {"id": "127.0.0.1", "name": http.settings.site_name}
    handle = unb64url(options["user"]["id"])
    assert len(handle) == 64
    assert EMAIL.encode() not in handle and handle != str(user_id).encode()
    with app.app_context():
        assert db.session.get(PasskeyUserHandle, user_id).handle == handle
    assert options["user"]["name"] == EMAIL
    assert options["user"]["displayName"] == "Ada Lovelace"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["attestation"] == "none"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -8, -257]
    [existing] = client.authenticator.credentials
    assert [c["id"] for c in options["excludeCredentials"]] == [b64url(existing)]
    assert len(unb64url(options["challenge"])) >= 16  # §13.4.3: at least 16 random bytes
    # The same handle every time, so the authenticator keeps one account per user.
    assert unb64url(client.registration_options()["user"]["id"]) == handle


def test_a_passkey_without_a_name_is_named_after_its_provider(app, http, make_user):
    make_user(EMAIL)
    client = PasskeyClient(
        http, SoftAuthenticator(origin=http.base, aaguid=ICLOUD_KEYCHAIN, backup_eligible=True)
    )
    client.browser.sign_in(EMAIL)

    assert client.register("").status_code == 201

    [passkey] = passkeys_in_db(app)
    assert passkey.name == "iCloud Keychain"
    assert (passkey.backup_eligible, passkey.backed_up) == (True, True)
    assert passkey.device_type == "multi_device"
    assert "Synced" in client.browser.get("/account/security").text


def test_adding_a_passkey_needs_a_signed_in_user(http, snapshot):
    client = PasskeyClient(http)
    before = snapshot()

    options = client.post("/account/passkeys/options", {})
    register = client.post("/account/passkeys", {"credential": {}})

    refused(options, 401, "Please sign in again.")
    refused(register, 401, "Please sign in again.")
    assert snapshot() == before


def test_adding_a_passkey_needs_a_fresh_sign_in(app, http, make_user, snapshot):
    make_user(EMAIL)
    client = PasskeyClient(http)
    client.browser.sign_in(EMAIL)
    make_stale(app, client.browser)
    before = snapshot()

    response = client.post("/account/passkeys/options", {})

    refused(response, 403, "Please confirm your password first.")
    assert response.json()["redirect"] == "/confirm?next=/account/security"
    assert snapshot() == before
    assert "Confirm your password to add a passkey" in client.browser.get("/account/security").text


def test_a_name_that_is_too_long_is_refused_before_the_authenticator_is_asked(
    http, make_user, snapshot
):
    make_user(EMAIL)
    client = PasskeyClient(http)
    client.browser.sign_in(EMAIL)
    before = snapshot()

    response = client.post("/account/passkeys/options", {"name": "x" * 65})

    refused(response, 400, "Use at most 64 characters for the name.")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        # §7.1 step 8: the challenge in clientDataJSON must be the one sent.
        ({"challenge": b64url(secrets.token_bytes(32))}, "answered a different request"),
        # §7.1 step 9: the origin must be one of ours.
        ({"origin": "https://evil.example"}, "came from a different website"),
        # §7.1 step 13: rpIdHash must be SHA-256 of our RP ID.
        ({"rp_id": "evil.example"}, "belongs to a different website"),
    ],
    ids=["wrong-challenge", "wrong-origin", "wrong-rp-id"],
)
def test_a_bad_registration_is_refused_and_nothing_is_stored(
    http, make_user, snapshot, mailbox, breakage, message
):
    make_user(EMAIL)
    client = PasskeyClient(http)
    client.browser.sign_in(EMAIL)
    options = client.registration_options()
    before = snapshot()

    credential = client.authenticator.create(options, **breakage)
    response = client.post("/account/passkeys", {"credential": credential, "name": "Mine"})

    refused(response, 400, message)
    assert snapshot() == before
    mailbox.assert_nothing_to(EMAIL)


def test_a_registration_answer_counts_once(http, make_user, snapshot):
    """§13.4.3: a challenge is used once."""
    make_user(EMAIL)
    client = PasskeyClient(http)
    client.browser.sign_in(EMAIL)
    credential = client.authenticator.create(client.registration_options())
    assert client.post("/account/passkeys", {"credential": credential}).status_code == 201
    before = snapshot()

    again = client.post("/account/passkeys", {"credential": credential})

    refused(again, 400, "This passkey request has expired or was already used.")
    assert snapshot() == before


def test_a_credential_registered_before_is_refused(http, ada, snapshot):
    """§7.1 step 26: a credential ID that is already registered is not stored again."""
    [known_id] = ada.authenticator.credentials
    answer = ada.authenticator.create(ada.registration_options())
    before = snapshot()

    response = ada.post("/account/passkeys", {"credential": _with_credential_id(answer, known_id)})

    refused(response, 400, "This passkey is already registered.")
    assert snapshot() == before


def _with_credential_id(answer: dict[str, Any], credential_id: bytes) -> dict[str, Any]:
    """Rebuild a registration answer so its attested credential ID is `credential_id`
    (attestation "none" signs nothing, §8.7)."""
    attestation = cbor2.loads(unb64url(answer["response"]["attestationObject"]))
    auth_data = attestation["authData"]
    old_length = struct.unpack(">H", auth_data[53:55])[0]
    key = auth_data[55 + old_length :]
    auth_data = auth_data[:53] + struct.pack(">H", len(credential_id)) + credential_id + key
    attestation["authData"] = auth_data
    response = dict(answer["response"], attestationObject=b64url(cbor2.dumps(attestation)))
    return dict(answer, id=b64url(credential_id), rawId=b64url(credential_id), response=response)


# Signing in without an email (§5.5 options, §7.2 ceremony)


def test_signing_in_with_a_passkey_and_no_email(app, http, ada):
    client = signed_out(http, ada)

    options = client.sign_in_options()
    assert options["allowCredentials"] == []  # §5.5: discoverable credentials
    assert options["userVerification"] == "preferred"
    assert options["rpId"] == "127.0.0.1"
    credential = client.authenticator.get(options)
    response = client.post("/sign-in/passkey", {"credential": credential, "next": ""})

    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/account"}
    # RFC 8176: a device-bound key ("hwk") with user verification is two factors.
    assert session_amr(app, client.browser) == ["hwk", "mfa"]
    assert EMAIL in client.browser.get("/account").text
    [passkey] = passkeys_in_db(app)
    assert passkey.sign_count == 1
    assert passkey.last_used_at is not None
    assert audit_events(app)[-1] == "sign_in"


def test_signing_in_with_a_passkey_keeps_where_the_user_was_going(http, ada):
    client = signed_out(http, ada)

    response = client.sign_in(next_url="/authorize/resume?uid=abc")

    assert response.json() == {"redirect": "/authorize/resume?uid=abc"}


def test_a_synced_passkey_without_user_verification_is_one_factor(app, http, make_user):
    """RFC 8176: "swk" for a backup-eligible (synced) key; no "mfa" without user
    verification (the UV flag, WebAuthn L3 §6.1)."""
    make_user(EMAIL)
    authenticator = SoftAuthenticator(origin=http.base, backup_eligible=True, user_verified=False)
    owner = PasskeyClient(http, authenticator)
    owner.browser.sign_in(EMAIL)
    assert owner.register("Phone").status_code == 201
    client = PasskeyClient(http, authenticator)

    response = client.sign_in()

    assert response.status_code == 200, response.text
    assert session_amr(app, client.browser) == ["swk"]


def test_signing_in_with_a_passkey_then_the_account_page_shows_its_last_use(http, ada):
    client = signed_out(http, ada)
    client.sign_in()

    page = client.browser.get("/account/security").text

    assert "last used" in page


# Refusals at sign-in: each leaves everything as it was (§7.2)


def test_a_wrong_challenge_is_refused(app, http, ada, snapshot):
    """§7.2 step 12: the challenge in clientDataJSON must be the one sent."""
    client = signed_out(http, ada)
    before = snapshot()

    response = client.sign_in(challenge=b64url(secrets.token_bytes(32)))

    refused(response, 400, "The passkey answered a different request. Please try again.")
    assert snapshot() == before
    assert client.browser.cookie() is None
    assert audit_events(app)[-1] == "passkey_failed"


def test_a_wrong_origin_is_refused(http, ada, snapshot):
    """§7.2 step 13: the origin must be one of ours."""
    client = signed_out(http, ada)
    before = snapshot()

    response = client.sign_in(origin="https://evil.example")

    refused(response, 400, "The passkey answer came from a different website.")
    assert snapshot() == before
    assert client.browser.cookie() is None


def test_a_wrong_rp_id_is_refused(http, ada, snapshot):
    """§7.2 step 15: rpIdHash must be the SHA-256 of our RP ID."""
    client = signed_out(http, ada)
    before = snapshot()

    response = client.sign_in(rp_id="evil.example")

    refused(response, 400, "The passkey belongs to a different website.")
    assert snapshot() == before
    assert client.browser.cookie() is None


def test_an_unregistered_passkey_is_refused(http, ada, snapshot):
    """§7.2 step 5/7: the credential must be one we registered."""
    stranger = SoftAuthenticator(origin=http.base)
    stranger.create({"rp": {"id": "127.0.0.1"}, "user": {"id": b64url(b"x")}, "challenge": "AA"})
    client = PasskeyClient(http, stranger)
    before = snapshot()

    response = client.sign_in()

    refused(response, 400, "This passkey is not registered with us.")
    assert snapshot() == before
    assert client.browser.cookie() is None


def test_a_replayed_answer_is_refused(app, http, ada, snapshot):
    """§13.4.3: each challenge is used once; sending the same answer again fails."""
    client = signed_out(http, ada)
    credential = client.authenticator.get(client.sign_in_options())
    first = client.post("/sign-in/passkey", {"credential": credential})
    assert first.status_code == 200, first.text
    other = PasskeyClient(http, ada.authenticator)  # the attacker's browser, no session
    before = snapshot()

    again = client.post("/sign-in/passkey", {"credential": credential})
    elsewhere = other.post("/sign-in/passkey", {"credential": credential})

    refused(again, 400, "This passkey request has expired or was already used.")
    refused(elsewhere, 400, "This passkey request has expired or was already used.")
    assert snapshot() == before
    assert other.browser.cookie() is None


def test_an_answer_counts_only_in_the_browser_that_asked(http, ada, snapshot):
    """The challenge is bound to the browser that asked for it (kept under a random value in
    its session), so an answer phished into another browser is refused."""
    victim = signed_out(http, ada)
    attacker = PasskeyClient(http, ada.authenticator)
    credential = victim.authenticator.get(victim.sign_in_options())
    attacker.sign_in_options()  # the attacker has a challenge of their own
    before = snapshot()

    response = attacker.post("/sign-in/passkey", {"credential": credential})

    refused(response, 400, "The passkey answered a different request.")
    assert snapshot() == before
    assert attacker.browser.cookie() is None


def test_a_signature_counter_going_backwards_is_refused(app, http, ada, snapshot):
    """§6.1.1 and §7.2 step 21: when the authenticator keeps a counter, a count that is not
    greater than the stored one may mean a cloned authenticator."""
    assert signed_out(http, ada).sign_in().status_code == 200  # stored count: 1
    assert signed_out(http, ada).sign_in().status_code == 200  # stored count: 2
    client = signed_out(http, ada)
    before = snapshot()

    response = client.sign_in(sign_count=1)

    refused(response, 400, "This passkey's signature counter went backwards")
    assert snapshot() == before
    assert client.browser.cookie() is None
    assert audit_events(app)[-1] == "passkey_failed"


def test_an_authenticator_without_a_counter_may_keep_answering_zero(app, http, make_user):
    """§6.1.1: both counts zero means the authenticator keeps no counter: accepted."""
    make_user(EMAIL)
    authenticator = SoftAuthenticator(origin=http.base, counts=False)
    owner = PasskeyClient(http, authenticator)
    owner.browser.sign_in(EMAIL)
    owner.register("Key")

    assert PasskeyClient(http, authenticator).sign_in().status_code == 200
    assert PasskeyClient(http, authenticator).sign_in().status_code == 200
    assert passkeys_in_db(app)[0].sign_count == 0


def test_a_tampered_signature_is_refused(http, ada, snapshot):
    """§7.2 step 22: the signature over authenticatorData || hash(clientDataJSON) must verify
    with the stored public key."""
    client = signed_out(http, ada)
    before = snapshot()

    response = client.sign_in(tamper=True)

    refused(response, 400, "The passkey's signature is not valid.")
    assert snapshot() == before
    assert client.browser.cookie() is None


def test_a_user_handle_of_another_account_is_refused(http, ada, snapshot):
    """§7.2 step 6: a returned userHandle must be the credential owner's."""
    client = signed_out(http, ada)
    [credential] = client.authenticator.credentials.values()
    credential.user_handle = secrets.token_bytes(64)
    before = snapshot()

    response = client.sign_in()

    refused(response, 400, "Your passkey could not be verified.")
    assert snapshot() == before


def test_signing_in_without_asking_for_options_first_is_refused(http, ada, snapshot):
    client = signed_out(http, ada)
    credential = client.authenticator.get({"challenge": b64url(secrets.token_bytes(32))})
    before = snapshot()

    response = client.post("/sign-in/passkey", {"credential": credential})

    refused(response, 400, "This passkey request has expired or was already used.")
    assert snapshot() == before


def test_a_missing_answer_is_refused(http, ada, snapshot):
    client = signed_out(http, ada)
    client.sign_in_options()
    before = snapshot()

    response = client.post("/sign-in/passkey", {"credential": "nonsense"})

    refused(response, 400, "No passkey answer was sent.")
    assert snapshot() == before


def test_passkey_endpoints_need_the_csrf_token(http, ada, snapshot):
    client = signed_out(http, ada)
    before = snapshot()

    response = client.browser.http.post(
        http.base + "/sign-in/passkey/options", json={}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 400
    assert "did not come from this site" in response.json()["message"]
    assert snapshot() == before


# A passkey as second factor


def test_a_passkey_is_a_second_factor_after_the_password(app, http, ada):
    user_id = user_id_of(app, EMAIL)
    with_totp(app, user_id)
    client = signed_out(http, ada)
    response = client.browser.sign_in(EMAIL)
    assert response.headers["Location"] == "/sign-in/second-factor"
    page = client.browser.get("/sign-in/second-factor").text
    assert "Use a passkey" in page

    options = client.second_factor_options()
    [allowed] = options["allowCredentials"]
    assert unb64url(allowed["id"]) in client.authenticator.credentials
    credential = client.authenticator.get(options)
    response = client.post("/sign-in/second-factor/passkey", {"credential": credential})

    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/account"}
    assert session_amr(app, client.browser) == ["pwd", "hwk", "mfa"]


def test_a_passkey_with_user_verification_skips_the_second_factor(app, http, ada):
    """RFC 8176: a passkey with user verification is already two factors ("mfa")."""
    with_totp(app, user_id_of(app, EMAIL))
    client = signed_out(http, ada)

    response = client.sign_in()

    assert response.json() == {"redirect": "/account"}
    assert session_amr(app, client.browser) == ["hwk", "mfa"]


def test_a_passkey_without_user_verification_still_asks_for_the_second_factor(app, http, make_user):
    user_id = make_user(EMAIL)
    authenticator = SoftAuthenticator(origin=http.base, user_verified=False)
    owner = PasskeyClient(http, authenticator)
    owner.browser.sign_in(EMAIL)
    owner.register("Key")
    with_totp(app, user_id)
    client = PasskeyClient(http, authenticator)

    response = client.sign_in()

    assert response.json() == {"redirect": "/sign-in/second-factor"}
    assert client.browser.cookie() is None
    assert client.browser.cookie("idp_pending")


def test_a_passkey_adds_a_factor_to_a_signed_in_session(app, http, ada):
    """Step-up: the signed-in user proves a passkey; the session gains it."""
    response = ada.second_factor()

    assert response.status_code == 200, response.text
    assert session_amr(app, ada.browser) == ["pwd", "hwk", "mfa"]


def test_a_passkey_of_another_account_is_no_second_factor(app, http, ada, make_user, snapshot):
    make_user(OTHER, name="Bob")
    bob = PasskeyClient(http)
    bob.browser.sign_in(OTHER)
    bob.register("Bob's key")
    options = bob.second_factor_options()
    [ada_credential] = ada.authenticator.credentials
    before = snapshot()

    credential = ada.authenticator.get(options, credential_id=ada_credential)
    response = bob.post("/sign-in/second-factor/passkey", {"credential": credential})

    refused(response, 400, "That passkey belongs to a different account.")
    assert snapshot() == before
    assert session_amr(app, bob.browser) == ["pwd"]


def test_second_factor_options_need_someone_signing_in(http, snapshot):
    client = PasskeyClient(http)
    before = snapshot()

    response = client.post("/sign-in/second-factor/passkey/options", {})

    refused(response, 401, "Please sign in again.")
    assert snapshot() == before


# Renaming and removing


def test_renaming_a_passkey(app, http, ada):
    [passkey] = passkeys_in_db(app)

    response = ada.browser.submit(
        "/account/security", f"/account/passkeys/{passkey.id}/name", name="  Old   laptop "
    )

    assert response.status_code == 303
    assert passkeys_in_db(app)[0].name == "Old laptop"
    assert "passkey_renamed" in audit_events(app)
    assert "Passkey renamed to “Old laptop”." in ada.browser.get("/account/security").text


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "Give the passkey a name."), ("x" * 65, "Use at most 64 characters for the name.")],
    ids=["empty", "too-long"],
)
def test_a_bad_new_name_is_refused(app, http, ada, snapshot, name, message):
    [passkey] = passkeys_in_db(app)
    before = snapshot()

    response = ada.browser.submit(
        "/account/security", f"/account/passkeys/{passkey.id}/name", name=name
    )

    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert snapshot() == before


def test_another_users_passkey_cannot_be_renamed_or_removed(app, http, ada, make_user, snapshot):
    [passkey] = passkeys_in_db(app)
    make_user(OTHER, name="Bob")
    bob = Browser(http)
    bob.sign_in(OTHER)
    before = snapshot()

    rename = bob.submit("/account/security", f"/account/passkeys/{passkey.id}/name", name="Mine")
    remove = bob.submit("/account/security", f"/account/passkeys/{passkey.id}/delete")

    assert (rename.status_code, remove.status_code) == (404, 404)
    assert snapshot() == before


def test_removing_a_passkey(app, http, ada, mailbox):
    [passkey] = passkeys_in_db(app)

    response = ada.browser.submit(
        "/account/security", f"/account/passkeys/{passkey.id}/delete", next="/account/security"
    )

    assert response.status_code == 303
    assert passkeys_in_db(app) == []
    assert "passkey_removed" in audit_events(app)
    assert "Laptop" in text_of(mailbox.wait_for(EMAIL, "A passkey was removed"))
    refused(signed_out(http, ada).sign_in(), 400, "This passkey is not registered with us.")


def test_removing_a_passkey_needs_a_fresh_sign_in(app, http, ada, snapshot):
    [passkey] = passkeys_in_db(app)
    make_stale(app, ada.browser)
    before = snapshot()

    response = ada.browser.submit(
        "/account/security", f"/account/passkeys/{passkey.id}/delete", next="/account/security"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/confirm?next=%2Faccount%2Fsecurity"
    assert snapshot() == before


# Helpers


def user_id_of(app: Flask, email: str) -> int:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None
        return user.id


def with_totp(app: Flask, user_id: int) -> None:
    """Two-factor (TOTP) turned on for the user, as if set up yesterday."""
    yesterday = time.time() - 86400
    secret = two_factor.new_secret()
    with app.test_request_context():
        user = db.session.get(User, user_id)
        assert user is not None
        two_factor.enable_totp(user, secret, pyotp.TOTP(secret).at(yesterday), at=yesterday)


def make_stale(app: Flask, browser: Browser) -> None:
    """Move the browser's sign-in a day back: no longer fresh (IDP_SESSION_FRESH_AGE)."""
    token = browser.cookie()
    assert token
    with app.app_context():
        row = db.session.scalar(
            select(LoginSession).where(LoginSession.token_hash == digest(token))
        )
        assert row is not None
        row.authenticated_at -= timedelta(days=1)
        db.session.commit()
        app.extensions["idp.store"].delete("session:" + row.token_hash)
