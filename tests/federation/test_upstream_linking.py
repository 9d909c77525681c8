"""Which account an upstream sign-in reaches, and linking and unlinking providers.

- A provider trusted for linking that asserts a verified email links to the account that has
  it; anything less asks the person to prove an account here first, on a page that is the same
  whether or not an account has the address (no user enumeration).
- The sign-in goes through the normal completion: a banned account is refused, and an
  authorize request in progress resumes afterwards (OpenID Connect Core §3.1.2.1).
- Never unlink the last way to sign in.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.accounts import TOKENS_INFO
from idp.federation.models import FederatedIdentity
from idp.identity import users
from idp.identity.bans import Ban
from idp.identity.models import LoginSession
from idp.keys.sealing import Sealer
from tests.conftest import SECRET, Browser, link_in
from tests.federation.upstream_peer import SLUG, Upstreamer, connect
from tests.oauth.conftest import authorize_url, pkce
from tests.test_two_factor import code_at, with_two_factor

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
LAST_WAY = "This is the only way left to sign in to your account."


def links(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [(r.user_id, r.source) for r in db.session.scalars(select(FederatedIdentity))]


def event_details(app, name: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == name))
        return [row.detail for row in rows]


def test_a_trusted_verified_email_links_the_existing_account(server, peer, make_user):
    user_id = make_user("ada@example.com")
    connect(server, peer, trusted=True)

    answer = Upstreamer(server, peer).sign_in()

    assert answer.status_code == 303 and answer.headers["Location"] == "/account"
    assert links(server.app) == [(user_id, SLUG)]
    assert event_details(server.app, "account_linked")[0]["automatic"] is True


@pytest.mark.parametrize(("trusted", "verified"), [(False, True), (True, False)])
def test_otherwise_the_page_is_the_same_with_or_without_an_account(
    server, peer, make_user, snapshot, trusted, verified
):
    """Untrusted provider, or unverified email: never a silent merge, and the answer does not
    tell whether the address has an account here."""
    connect(server, peer, trusted=trusted, verified=verified, email="ada@example.com")
    connect(server, peer, slug="peer2", trusted=trusted, verified=verified, email="bob@example.com")
    make_user("ada@example.com")
    before = snapshot()

    pages = []
    for slug, email in ((SLUG, "ada@example.com"), ("peer2", "bob@example.com")):
        person = Upstreamer(server, peer)
        answer = person.sign_in(start=f"/sign-in/with/{slug}", email=email)
        assert answer.headers["Location"] == f"/sign-in/with/{slug}/continue"
        page = person.get(server.url + answer.headers["Location"]).text
        pages.append(page.replace("peer2", SLUG))

    assert pages[0] == pages[1]
    assert "Sign in to link Peer" in pages[0]
    assert snapshot() == before


def test_proving_the_account_links_it(server, peer, make_user):
    """Sign in with the password, confirm: the link is made, and the provider signs in next."""
    user_id = make_user("ada@example.com")
    connect(server, peer, trusted=False)
    person = Upstreamer(server, peer)
    assert person.sign_in().headers["Location"] == f"/sign-in/with/{SLUG}/continue"
    browser = Browser(server.url, person.http)
    assert browser.sign_in("ada@example.com", next=f"/sign-in/with/{SLUG}/link").status_code == 303
    assert "Link Peer" in browser.get(f"/sign-in/with/{SLUG}/link").text

    answer = browser.submit(f"/sign-in/with/{SLUG}/link")

    assert answer.status_code == 303 and answer.headers["Location"] == "/account"
    assert links(server.app) == [(user_id, SLUG)]
    assert event_details(server.app, "account_linked")[0]["source"] == SLUG
    again = Upstreamer(server, peer).sign_in()
    assert again.status_code == 303 and again.headers["Location"] == "/account"


def test_a_banned_account_is_refused(server, peer):
    connect(server, peer)
    Upstreamer(server, peer).sign_in()
    with server.app.app_context():
        user = users.find_by_email("ada@example.com")
        assert user is not None
        db.session.add(Ban(user_id=user.id, reason="Spam"))
        db.session.commit()

    answer = Upstreamer(server, peer).sign_in()

    assert answer.status_code == 403
    assert "idp_session" not in answer.cookies


def test_an_authorize_request_resumes_after_the_sign_in(server, peer, make_client):
    """The sign-in page's "Continue with" keeps `next`: the app's request goes on."""
    connect(server, peer)
    client = make_client(first_party=True)
    person = Upstreamer(server, peer)
    to_sign_in = person.get(server.url + authorize_url(client, pkce()[1]))
    next_url = dict(
        part.split("=", 1) for part in urlsplit(to_sign_in.headers["Location"]).query.split("&")
    )["next"]
    page = person.get(server.url + "/sign-in?next=" + next_url).text
    assert f"/sign-in/with/{SLUG}?next=" in page  # the button keeps it

    answer = person.sign_in(start=f"/sign-in/with/{SLUG}?next={next_url}")

    assert answer.status_code == 303
    resumed = person.get(server.url + answer.headers["Location"])
    assert resumed.headers["Location"].startswith(client.redirect_uri + "?code=")


def test_linking_from_the_account_page_and_unlinking(server, peer, make_user):
    user_id = make_user("ada@example.com")
    connect(server, peer, trusted=False, email="ada.elsewhere@example.com")
    person = Upstreamer(server, peer)
    browser = Browser(server.url, person.http)
    browser.sign_in("ada@example.com")

    start = browser.submit("/account/linked-accounts", f"/account/linked-accounts/link/{SLUG}")
    assert start.status_code == 303
    callback = person.get(start.headers["Location"])
    callback = person._sign_in_at_peer(
        peer.url + callback.headers["Location"], "ada.elsewhere@example.com"
    )
    while not callback.headers["Location"].startswith(server.url):
        callback = person.get(peer.url + callback.headers["Location"])
    done = person.get(callback.headers["Location"])

    assert done.headers["Location"] == "/account/linked-accounts"
    assert links(server.app) == [(user_id, SLUG)]
    assert "ada.elsewhere@example.com" in browser.get("/account/linked-accounts").text
    with server.app.app_context():
        (link_id,) = db.session.scalars(select(FederatedIdentity.id))

    answer = browser.submit(
        "/account/linked-accounts", f"/account/linked-accounts/{link_id}/unlink"
    )

    assert answer.status_code == 303
    assert links(server.app) == []
    assert event_details(server.app, "account_unlinked")[0]["source"] == SLUG


def test_the_last_way_to_sign_in_is_not_unlinked(server, peer, snapshot):
    """An account made by the provider has no password or passkey: unlinking is refused."""
    connect(server, peer)
    person = Upstreamer(server, peer)
    person.sign_in()
    with server.app.app_context():
        (link_id,) = db.session.scalars(select(FederatedIdentity.id))
    browser = Browser(server.url, person.http)
    before = snapshot()

    answer = browser.submit(
        "/account/linked-accounts", f"/account/linked-accounts/{link_id}/unlink"
    )

    assert answer.status_code == 400
    assert LAST_WAY in answer.text
    assert snapshot() == before


def test_an_upstream_account_linked_elsewhere_is_not_linked_again(
    server, peer, make_user, snapshot
):
    connect(server, peer)
    Upstreamer(server, peer).sign_in()  # the peer's Ada now has an account here
    make_user("bob@example.com")
    person = Upstreamer(server, peer)
    browser = Browser(server.url, person.http)
    browser.sign_in("bob@example.com")
    start = browser.submit("/account/linked-accounts", f"/account/linked-accounts/link/{SLUG}")
    callback = person.get(start.headers["Location"])
    callback = person._sign_in_at_peer(peer.url + callback.headers["Location"], "ada@example.com")
    while not callback.headers["Location"].startswith(server.url):
        callback = person.get(peer.url + callback.headers["Location"])
    before = snapshot()

    answer = person.get(callback.headers["Location"])

    assert answer.status_code == 400
    assert "already linked to another account" in answer.text
    assert snapshot() == before


@pytest.mark.usefixtures("steady_totp_step")
def test_two_factor_still_applies(server, peer, make_user):
    """A federated sign-in is a first factor: an account with an authenticator app asks for its
    code, and the session then carries both (RFC 8176 §2: fed, otp, mfa)."""
    secret, _ = with_two_factor(server.app, make_user("ada@example.com"))
    connect(server, peer, trusted=True)
    person = Upstreamer(server, peer)

    answer = person.sign_in()

    assert answer.headers["Location"] == "/sign-in/second-factor"
    browser = Browser(server.url, person.http)
    done = browser.submit("/sign-in/second-factor", code=code_at(secret))
    assert done.status_code == 303 and done.headers["Location"] == "/account"
    with server.app.app_context():
        session = db.session.scalar(select(LoginSession))
        assert session is not None and session.amr == ["fed", "otp", "mfa"]


def test_tokens_are_kept_sealed_only_when_asked(server, peer):
    connect(server, peer, keep_tokens=True)
    Upstreamer(server, peer).sign_in()
    with server.app.app_context():
        link = db.session.scalar(select(FederatedIdentity))
        assert link is not None and link.sealed_tokens is not None
        label = f"{link.source}:{link.subject}"
        sealed = link.sealed_tokens
    opened = json.loads(Sealer(SECRET, info=TOKENS_INFO).open(sealed, label=label))
    assert opened["access_token"] not in sealed and opened["token_type"] == "Bearer"
    assert "id_token" in opened


def test_linking_refused_when_signed_out_meanwhile(server, peer, make_user, snapshot):
    """The link goes to the account that started it, still signed in, or nowhere."""
    make_user("ada@example.com")
    connect(server, peer, trusted=False, email="ada.elsewhere@example.com")
    person = Upstreamer(server, peer)
    browser = Browser(server.url, person.http)
    browser.sign_in("ada@example.com")
    start = browser.submit("/account/linked-accounts", f"/account/linked-accounts/link/{SLUG}")
    browser.submit("/account", "/sign-out")
    callback = person.get(start.headers["Location"])
    callback = person._sign_in_at_peer(
        peer.url + callback.headers["Location"], "ada.elsewhere@example.com"
    )
    while not callback.headers["Location"].startswith(server.url):
        callback = person.get(peer.url + callback.headers["Location"])
    before = snapshot()

    answer = person.get(callback.headers["Location"])

    assert answer.status_code == 400
    assert "Sign in again, then link the provider." in answer.text
    assert links(server.app) == []
    assert snapshot() == before


def test_creating_an_account_on_the_prove_page_then_linking_it(server, peer, mailbox):
    """Nobody here has the address: "Create one" signs up, `next` rides along in the mailed
    verification link, and verifying signs in and lands on the link page; the link is made to
    the new account, which the provider signs in from then on."""
    connect(server, peer, trusted=False, email="bob@example.com")
    person = Upstreamer(server, peer)
    prove = person.sign_in(email="bob@example.com").headers["Location"]
    page = person.get(server.url + prove).text
    (sign_up,) = re.findall(r'href="(/sign-up\?[^"]+)"', page)
    browser = Browser(server.url, person.http)
    form = browser.get(html.unescape(sign_up)).text
    assert f'value="/sign-in/with/{SLUG}/link"' in form  # next kept in the form

    created = browser.submit(
        html.unescape(sign_up),
        "/sign-up",
        name="Bob",
        email="bob@example.com",
        password="a new long passphrase 7",
        next=f"/sign-in/with/{SLUG}/link",
    )
    assert created.status_code == 200 and "Check your inbox" in created.text
    link = link_in(
        mailbox.wait_for("bob@example.com", "Confirm your email address"), "/verify-email/"
    )
    verified = browser.submit("/sign-in", action=link.split(server.url, 1)[1])

    assert verified.status_code == 303
    assert verified.headers["Location"] == f"/sign-in/with/{SLUG}/link"
    assert browser.submit(f"/sign-in/with/{SLUG}/link").status_code == 303
    with server.app.app_context():
        bob = users.find_by_email("bob@example.com")
        assert bob is not None
        bob_id = bob.id
    assert links(server.app) == [(bob_id, SLUG)]
    again = Upstreamer(server, peer).sign_in(email="bob@example.com")
    assert again.status_code == 303 and again.headers["Location"] == "/account"
    with server.app.app_context():
        assert len(users.list_users()) == 1
