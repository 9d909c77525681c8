"""Impersonation: an admin sees the site as a person for a while. The banner is on every page;
sensitive actions still ask for the person's password; start and end are audited with the
admin; stopping or the time running out returns the admin to their own session. Another
admin, oneself and a banned person cannot be impersonated."""

from __future__ import annotations

from sqlalchemy import select

from idp.admin import moderation
from idp.admin.impersonation import Impersonation
from idp.core.audit import AuditEvent
from idp.db import db
from idp.identity import users
from idp.identity.models import LoginSession
from tests.admin.conftest import ADMIN, text_of
from tests.test_page_headers import GET_PAGES

ADA = "ada@example.com"
BANNER = "You are impersonating ada@example.com until "


def start(app, admin, email: str = ADA):
    with app.app_context():
        person = users.find_by_email(email)
        assert person is not None
        page = f"/admin/people/{person.id}"
    return admin.submit(page, action=page + "/impersonate", next=page)


def audit(app, event: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == event))
        return [{"subject": row.subject, **row.detail} for row in rows]


def sessions_of(app, email: str) -> list[list[str]]:
    with app.app_context():
        person = users.find_by_email(email)
        assert person is not None
        rows = db.session.scalars(select(LoginSession).where(LoginSession.user_id == person.id))
        return [list(row.amr) for row in rows]


def test_an_admin_sees_the_site_as_the_person_with_a_banner(app, admin, make_user):
    make_user(ADA, name="Ada Lovelace")

    response = start(app, admin)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    for path in ("/account", "/security"):
        page = text_of(admin.get(path))
        assert BANNER in page, path
        assert "Ada Lovelace" in page or path == "/security"
    assert sessions_of(app, ADA) == [["imp"]]
    [started] = audit(app, "impersonation_started")
    assert (started["subject"], started["admin"]) == (ADA, ADMIN)


def test_sensitive_actions_ask_for_the_persons_password(app, admin, make_user):
    make_user(ADA)
    start(app, admin)

    response = admin.get("/account/delete")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/confirm")


def test_stopping_returns_the_admin_to_their_own_session(app, admin, make_user):
    make_user(ADA)
    start(app, admin)

    response = admin.submit("/account", action="/impersonation/end")

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/people/")
    page = text_of(admin.get(response.headers["Location"]))
    assert BANNER not in page and "Ada" in page  # the admin's page about Ada
    assert sessions_of(app, ADA) == []
    [ended] = audit(app, "impersonation_ended")
    assert (ended["admin"], ended["reason"]) == (ADMIN, "stopped")


def test_when_the_time_is_up_the_admin_is_back(app, admin, make_user, clock):
    make_user(ADA)
    start(app, admin)

    clock.advance(app.extensions["idp.settings"].impersonation_ttl + 1)
    response = admin.get("/account")

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin"
    assert BANNER not in admin.get("/account").text
    assert ADMIN in text_of(admin.get("/account"))
    assert sessions_of(app, ADA) == []
    assert audit(app, "impersonation_ended")[0]["reason"] == "expired"


def test_another_admin_cannot_be_impersonated(app, admin, make_user, snapshot):
    make_user(ADA)
    with app.app_context():
        person = users.find_by_email(ADA)
        assert person is not None
        person.is_admin = True
        db.session.commit()
    before = snapshot(ignore=())

    response = start(app, admin)

    assert response.status_code == 400
    assert "You cannot impersonate another administrator." in text_of(response)
    assert snapshot(ignore=()) == before


def test_an_admin_cannot_impersonate_themselves(app, admin, snapshot):
    before = snapshot(ignore=())

    response = start(app, admin, ADMIN)

    assert response.status_code == 400
    assert "You cannot impersonate another administrator." in text_of(response)
    assert snapshot(ignore=()) == before


def test_a_banned_person_cannot_be_impersonated(app, admin, make_user, snapshot):
    make_user(ADA)
    with app.app_context():
        person, grace = users.find_by_email(ADA), users.find_by_email(ADMIN)
        assert person and grace
        moderation.ban(person, "Spam", None, admin=grace)
    before = snapshot(ignore=())

    response = start(app, admin)

    assert response.status_code == 400
    assert "A banned person cannot be impersonated." in text_of(response)
    assert snapshot(ignore=()) == before


def test_stopping_without_impersonating_says_so(app, browser, make_user, snapshot):
    make_user(ADA)
    browser.sign_in(ADA)
    before = snapshot(ignore=())

    response = browser.submit("/account", action="/impersonation/end")

    assert response.status_code == 400
    assert "You are not impersonating anyone." in text_of(response)
    assert snapshot(ignore=()) == before


def test_a_ban_ends_a_running_impersonation_and_returns_the_admin(app, admin, make_user):
    make_user(ADA)
    start(app, admin)
    with app.app_context():
        grace, ada = users.find_by_email(ADMIN), users.find_by_email(ADA)
        assert grace is not None and ada is not None
        moderation.ban(ada, "spam", None, admin=grace)  # another tab, another admin: alike

    response = admin.get("/account")

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin"
    page = text_of(admin.get("/admin"))
    assert "The impersonation ended; you are back in your own session." in page
    assert BANNER not in page
    assert sessions_of(app, ADA) == []
    [ended] = audit(app, "impersonation_ended")
    assert (ended["subject"], ended["admin"], ended["reason"]) == (ADA, ADMIN, "banned")
    with app.app_context():
        assert db.session.scalars(select(Impersonation)).all() == []


def test_the_banner_is_on_every_page_the_person_can_open(app, admin, make_user):
    """Every GET route of the site (the list test_page_headers.py holds against the app) that
    answers the impersonated person with an HTML page carries the banner."""
    make_user(ADA, name="Ada Lovelace")
    assert start(app, admin).status_code == 303
    seen = []

    for path in GET_PAGES:
        if path == "/logout":  # RP-initiated logout would end the impersonation
            continue
        answer = admin.get(path)
        if answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html"):
            assert BANNER in text_of(answer), path
            seen.append(path)

    assert len(seen) >= 15, seen  # the pages of an account, its organizations, the sign-in pages
    assert {"/account", "/organizations", "/account/api-keys", "/confirm"} <= set(seen)


def test_loading_the_stylesheet_does_not_end_the_impersonation(app, admin, make_user):
    """Every page makes the browser fetch /static/css/main.css, which carries no session: it
    once looked like a session gone, ended the impersonation and swapped the cookies."""
    make_user(ADA)
    assert start(app, admin).status_code == 303

    stylesheet = admin.get("/static/css/main.css")

    assert stylesheet.status_code == 200
    assert "Set-Cookie" not in stylesheet.headers
    assert BANNER in text_of(admin.get("/account"))
