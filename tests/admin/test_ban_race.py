"""Two admins (or two tabs) ban the same person at once: each answer is what the second ban
would answer, with no 500, and one ban row is left (the insert is `insert_if_absent`)."""

from __future__ import annotations

from idp.identity import users
from idp.identity.bans import Ban
from tests.conftest import CSRF
from tests.test_races import at_once, count, signed_in


def test_parallel_bans_leave_one(server):
    admin = signed_in(server, "grace@example.com", admin=True)
    with server.app.app_context():
        person = users.create_user("ada@example.com", "Ada", "plum-orchard-47-lantern")
        page = f"/admin/people/{person.id}"
    token = CSRF.search(admin.get(page).text).group(1)  # type: ignore[union-attr]

    answers = at_once(
        admin,
        lambda session, i: session.post(
            server.url + page + "/ban",
            data={"csrf_token": token, "reason": f"Spam {i}", "next": page},
            allow_redirects=False,
            timeout=20,
        ),
    )

    assert [answer.status_code for answer in answers] == [303] * len(answers)
    assert count(server.app, Ban) == 1
