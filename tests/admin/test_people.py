"""The people pages of the admin console: search, filters, order and pages; a person's page;
ban, unban, the admin role, ending sessions and sending a password reset. Each action is
audited with the admin who did it; each refusal says why and stores nothing; every page and
form is for fresh-signed-in admins only, with its CSRF token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db, utcnow
from idp.identity import users
from idp.identity.bans import Ban
from idp.identity.models import User
from tests.admin.conftest import ADMIN, text_of
from tests.conftest import Browser, link_in
from tests.test_two_factor import with_two_factor

ADA = "ada@example.com"
CSRF_REFUSED = "This form expired or did not come from this site."


def user_id(app, email: str) -> int:
    with app.app_context():
        user = users.find_by_email(email)
        assert user is not None
        return user.id


def listed(response) -> list[str]:
    """The emails on a people page, in order."""
    return re.findall(r'href="/admin/people/\d+">([^<]+)<', response.text)


def events(app, event: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)))
        for row in rows:
            db.session.expunge(row)
        return rows


def page_of(app, email: str) -> str:
    return f"/admin/people/{user_id(app, email)}"


def act(admin: Browser, page: str, action: str, **fields: str):
    return admin.submit(page, action=page + action, next=page, **fields)


# --- Who may open the console -----------------------------------------------------------------

PAGES = [
    "/admin",
    "/admin/people",
    "/admin/people/1",
    "/admin/keys",
    "/admin/audit",
    "/admin/audit.csv",
]
ACTIONS = [
    "/admin/people/1/ban",
    "/admin/people/1/unban",
    "/admin/people/1/role",
    "/admin/people/1/sessions/revoke",
    "/admin/people/1/password-reset",
    "/admin/people/1/impersonate",
    "/admin/keys/rotate",
]


def test_someone_who_is_not_an_admin_gets_403_everywhere(app, browser, make_user, snapshot):
    make_user(ADA)
    assert browser.sign_in(ADA).status_code == 303
    before = snapshot()

    for path in PAGES:
        response = browser.get(path)
        assert response.status_code == 403, path
        assert "Only administrators can open the admin pages." in text_of(response)
    for path in ACTIONS:
        token = browser.csrf("/account")
        response = browser.http.post(
            browser.base + path, data={"csrf_token": token, "reason": "x", "is_admin": "on"}
        )
        assert response.status_code == 403, path
    assert snapshot() == before


def test_signed_out_people_are_sent_to_sign_in(browser):
    for path in PAGES:
        response = browser.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/sign-in?next=")


def test_a_stale_sign_in_is_asked_for_the_password_again(app, admin, make_user, clock):
    make_user(ADA)
    clock.advance(app.extensions["idp.settings"].session_fresh_age + 1)

    response = admin.get("/admin/people")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/confirm")


def test_a_form_without_its_csrf_token_is_refused(app, admin, make_user, snapshot):
    make_user(ADA)
    before = snapshot(ignore=())

    response = admin.http.post(
        admin.base + page_of(app, ADA) + "/ban", data={"reason": "Spam"}, allow_redirects=False
    )

    assert response.status_code == 400
    assert CSRF_REFUSED in response.text
    assert snapshot(ignore=()) == before


# --- Finding people -------------------------------------------------------------------------


@pytest.fixture
def crowd(app, make_user):
    """Ada (two-factor on), Bob (unverified), Carol (verified, admin), and Grace."""
    ada = make_user(ADA, name="Ada Lovelace")
    with_two_factor(app, ada)
    make_user("bob@example.com", name="Bob Stone")
    make_user("carol@example.org", name="Carol Ada")
    with app.app_context():
        carol = users.find_by_email("carol@example.org")
        assert carol is not None
        carol.is_admin = True
        carol.email_verified_at = utcnow()
        db.session.commit()


def test_search_is_by_the_start_of_the_email_or_the_name(admin, crowd):
    assert listed(admin.get("/admin/people?q=ADA")) == [ADA]
    assert sorted(listed(admin.get("/admin/people?q=carol"))) == ["carol@example.org"]
    assert listed(admin.get("/admin/people?q=Bob+St")) == ["bob@example.com"]
    # Not a middle word: the prefix indexes cannot serve it (see idp.admin.people).
    assert listed(admin.get("/admin/people?q=lovelace")) == []
    assert listed(admin.get("/admin/people?q=%25")) == []  # a LIKE wildcard is a character


def test_filters_narrow_the_list(admin, crowd):
    assert listed(admin.get("/admin/people?filter=two_factor")) == [ADA]
    assert sorted(listed(admin.get("/admin/people?filter=admin"))) == ["carol@example.org", ADMIN]
    unverified = listed(admin.get("/admin/people?filter=unverified&sort=email"))
    assert unverified == [ADA, "bob@example.com", ADMIN]
    assert listed(admin.get("/admin/people?filter=admin&filter=unverified")) == [ADMIN]


def test_the_list_is_sorted_and_paged(app, admin, make_user):
    with app.app_context():
        db.session.add_all(
            User(email=f"p{i:03d}@example.com", name=f"P {i:03d}") for i in range(60)
        )
        db.session.commit()

    first = listed(admin.get("/admin/people?sort=email"))
    second_page = admin.get("/admin/people?sort=email&page=2")

    assert len(first) == 50
    assert first == sorted(first)
    second = listed(second_page)
    assert len(second) == 11  # 61 people in all, with Grace
    assert first[-1] < second[0]
    assert 'rel="prev"' in second_page.text and 'rel="next"' not in second_page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("filter=deleted", "There is no filter &#39;deleted&#39;."),
        ("sort=age", "There is no order &#39;age&#39;."),
        ("page=0", "The page must be a number from 1 to 2000."),
        ("page=x", "The page must be a number from 1 to 2000."),
        ("q=" + "a" * 321, "Search with at most 320 characters."),
    ],
)
def test_a_bad_search_says_what_is_wrong(admin, query, message):
    response = admin.get("/admin/people?" + query)

    assert response.status_code == 400
    assert message in response.text


def test_a_persons_page_shows_their_account(app, admin, crowd):
    page = text_of(admin.get(page_of(app, ADA)))

    assert "Ada Lovelace" in page
    assert "on since" in page  # two-factor
    assert "10 backup codes left" in page
    assert 'id="organizations"' in page


# --- Acting on a person ---------------------------------------------------------------------


def test_a_ban_with_an_end_is_shown_and_audited(app, admin, make_user):
    make_user(ADA)
    page = page_of(app, ADA)

    response = act(admin, page, "/ban", reason="  Spam   links ", expires_at="2099-01-31T18:00")

    assert response.status_code == 303
    shown = text_of(admin.get(page))
    assert "until 2099-01-31 18:00 UTC: Spam links" in shown
    [event] = events(app, "user_banned")
    assert event.detail["admin"] == ADMIN
    assert event.detail["reason"] == "Spam links"
    assert event.detail["expires_at"].startswith("2099-01-31T18:00:00")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": "  "}, "Say why, for the audit log."),
        ({"reason": "x" * 501}, "Use at most 500 characters."),
        (
            {"reason": "Spam", "expires_at": "2001-01-01T00:00"},
            "The end of the ban must be in the future.",
        ),
        (
            {"reason": "Spam", "expires_at": "tomorrow"},
            "Give the end as a date and time, such as 2027-01-31T18:00.",
        ),
    ],
)
def test_a_bad_ban_says_why_and_stores_nothing(app, admin, make_user, snapshot, fields, message):
    make_user(ADA)
    page = page_of(app, ADA)
    before = snapshot(ignore=())

    response = act(admin, page, "/ban", **fields)

    assert response.status_code == 400
    assert message in text_of(response)
    assert snapshot(ignore=()) == before


def test_an_admin_cannot_ban_themselves(app, admin, snapshot):
    page = page_of(app, ADMIN)
    before = snapshot(ignore=())

    response = act(admin, page, "/ban", reason="Oops")

    assert response.status_code == 400
    assert "You cannot ban yourself." in text_of(response)
    assert snapshot(ignore=()) == before


def test_banning_again_changes_the_ban(app, admin, make_user):
    make_user(ADA)
    page = page_of(app, ADA)
    act(admin, page, "/ban", reason="Spam", expires_at="2099-01-31T18:00")

    act(admin, page, "/ban", reason="Fraud")

    with app.app_context():
        [ban] = db.session.scalars(select(Ban)).all()
        assert (ban.reason, ban.expires_at) == ("Fraud", None)


def test_unban_lifts_the_ban(app, admin, make_user):
    make_user(ADA)
    page = page_of(app, ADA)
    act(admin, page, "/ban", reason="Spam")

    response = act(admin, page, "/unban")

    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Ban)).all() == []
    assert events(app, "user_unbanned")[0].detail["admin"] == ADMIN
    assert Browser(admin.http.app).sign_in(ADA).status_code == 303


def test_the_admin_role_is_given_and_taken(app, admin, make_user):
    make_user(ADA)
    page = page_of(app, ADA)

    act(admin, page, "/role", is_admin="on")
    with app.app_context():
        assert users.find_by_email(ADA).is_admin  # type: ignore[union-attr]
    act(admin, page, "/role", is_admin="off")

    with app.app_context():
        assert not users.find_by_email(ADA).is_admin  # type: ignore[union-attr]
    changes = [(e.detail["is_admin"], e.detail["admin"]) for e in events(app, "role_changed")]
    assert changes == [(True, ADMIN), (False, ADMIN)]


def test_an_admin_cannot_take_their_own_role(app, admin, snapshot):
    before = snapshot(ignore=())

    response = act(admin, page_of(app, ADMIN), "/role", is_admin="off")

    assert response.status_code == 400
    assert "You cannot remove your own admin role." in text_of(response)
    assert snapshot(ignore=()) == before


def test_ending_a_persons_sessions_signs_them_out(app, admin, make_user):
    make_user(ADA)
    ada = Browser(admin.http.app)
    assert ada.sign_in(ADA).status_code == 303

    response = act(admin, page_of(app, ADA), "/sessions/revoke")

    assert response.status_code == 303
    assert ada.get("/account").status_code == 302
    assert "1 session of ada@example.com ended." in text_of(admin.get(page_of(app, ADA)))


def test_a_password_reset_link_is_mailed(app, admin, make_user, mailbox):
    make_user(ADA)

    response = act(admin, page_of(app, ADA), "/password-reset")

    assert response.status_code == 303
    message = mailbox.wait_for(ADA, "Reset your password")
    assert link_in(message, "/reset-password/")
    [event] = events(app, "password_reset_requested")
    assert event.detail == {"admin": ADMIN}
