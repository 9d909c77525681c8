"""The last owner stays, even when owners act at the same moment.

An organization always has an owner (someone who can delete it, change its policy and its
owners). Checked one request at a time, two owners demoting each other -- or leaving -- at
once would each count two owners and leave none. The changes run one at a time per
organization (idp.identity.members), so of two such requests one is refused with the
last-owner message, on SQLite and on PostgreSQL alike.

The requests go over sockets to a threaded live server, released together by a barrier, a
few rounds each, since a race is a matter of timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from idp.db import db
from idp.identity import users
from idp.identity.members import LAST_OWNER
from idp.identity.organization_models import Membership
from tests.helpers.browser import Browser
from tests.helpers.organizations import add_member, make_organization
from tests.test_races import signed_in

ROUNDS = 4


def both_at_once(*sends: Callable[[], requests.Response]) -> list[requests.Response]:
    barrier = threading.Barrier(len(sends))

    def run(send: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return send()

    with ThreadPoolExecutor(len(sends)) as pool:
        return list(pool.map(run, sends))


def post(browser: Browser, action: str, **fields: str) -> Callable[[], requests.Response]:
    data = {"csrf_token": browser.csrf("/organizations/acme"), **fields}
    url = browser.base + action
    return lambda: browser.http.post(url, data=data, allow_redirects=False, timeout=20)


def owners(app: Any, organization_id: int) -> dict[int, str]:
    with app.app_context():
        rows = db.session.query(Membership).filter_by(organization_id=organization_id)
        return {row.id: row.role for row in rows}


def two_owners(server: Any) -> tuple[Browser, Browser, int, int, int]:
    ada, bob = signed_in(server, "ada@example.com"), signed_in(server, "bob@example.com")
    with server.app.app_context():
        ada_id = users.find_by_email("ada@example.com").id  # type: ignore[union-attr]
        bob_id = users.find_by_email("bob@example.com").id  # type: ignore[union-attr]
    organization = make_organization(server.app, ada_id)
    bob_member = add_member(server.app, organization, bob_id, "owner")
    ada_member = next(m for m in owners(server.app, organization) if m != bob_member)
    return ada, bob, organization, ada_member, bob_member


def refused_for_the_last_owner(response: requests.Response) -> bool:
    return response.status_code == 400 and LAST_OWNER in response.text


def test_two_owners_demoting_each_other_at_once_leave_one_owner(server):
    ada, bob, organization, ada_member, bob_member = two_owners(server)

    for _ in range(ROUNDS):
        answers = both_at_once(
            post(ada, f"/organizations/acme/role/{bob_member}", role="member"),
            post(bob, f"/organizations/acme/role/{ada_member}", role="member"),
        )

        roles = owners(server.app, organization)
        assert list(roles.values()).count("owner") == 1, roles
        done = [a for a in answers if a.status_code == 303]
        refused = [a for a in answers if a.status_code != 303]
        assert len(done) == 1 and len(refused) == 1, [a.status_code for a in answers]
        # The one refused was demoted first: it may no longer change an owner's role, or it
        # counted one owner left.
        assert refused[0].status_code in (400, 403), refused[0].text
        with server.app.app_context():  # both owners again for the next round
            for row in db.session.query(Membership).filter_by(organization_id=organization):
                row.role = "owner"
            db.session.commit()


def test_two_owners_leaving_at_once_leave_one_owner(server):
    ada, bob, organization, _, _ = two_owners(server)

    answers = both_at_once(
        post(ada, "/organizations/acme/leave"), post(bob, "/organizations/acme/leave")
    )

    roles = owners(server.app, organization)
    assert list(roles.values()) == ["owner"], roles
    assert sorted(a.status_code for a in answers) == [303, 400]
    refused = next(a for a in answers if a.status_code == 400)
    assert refused_for_the_last_owner(refused), refused.text
