"""Done when: the console finds one person among 100,000 and bans them; their access token
then introspects inactive (RFC 7662 §2.2: `{"active": false}`) and their refresh fails
(RFC 6749 §5.2: invalid_grant), at once.

The 100,000 people are written with one bulk INSERT (no password hashing), in the test's own
database; SQLite and PostgreSQL both run it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import insert

from idp.db import db
from idp.identity.models import User
from tests.admin.conftest import person_link, text_of
from tests.oauth.issued import issue, post_as, refresh, userinfo

CROWD = 100_000


def seed(app, count: int) -> None:
    """`count` people, person0000001@crowd.example and so on, in one statement."""
    now = datetime.now(UTC)
    rows = [
        {
            "email": f"person{i:07d}@crowd.example",
            "name": f"Person {i}",
            "created_at": now,
            "updated_at": now,
            "is_admin": False,
        }
        for i in range(count)
    ]
    with app.app_context():
        db.session.execute(insert(User), rows)
        db.session.commit()


def test_the_console_finds_one_person_among_100000_and_bans_them(
    app, http, browser, admin, make_user, make_client
):
    seed(app, CROWD)
    make_user("ada.lovelace@example.com", name="Ada Lovelace")
    client = make_client()
    tokens = issue(http, browser, client, email="ada.lovelace@example.com")

    found = admin.get("/admin/people?q=ada.love")
    assert found.status_code == 200
    page = text_of(found)
    assert re.findall(r'href="(/admin/people/\d+)"', page) == [
        person_link(page, "ada.lovelace@example.com")
    ]
    by_name = text_of(admin.get("/admin/people?q=Ada+Lov"))
    path = person_link(by_name, "ada.lovelace@example.com")

    banned = admin.submit(path, action=path + "/ban", reason="Phishing other members", next=path)

    assert banned.status_code == 303
    assert "Phishing other members" in text_of(admin.get(path))
    gone = post_as(http, client, "/introspect", token=tokens["access_token"])
    assert gone.json() == {"active": False}
    assert userinfo(http, tokens["access_token"]).status_code == 401
    refused = refresh(http, client, tokens["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert browser.get("/account").status_code == 302  # the session ended too
