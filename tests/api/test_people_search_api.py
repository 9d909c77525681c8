"""`GET /api/people` searches as the console does (idp.admin.people): `q` is the start of the
email address or of the name, case-insensitively; `filter` takes the console's filters,
comma-separated; pages stay ordered by id."""

from __future__ import annotations

import pytest

from idp.db import db, utcnow
from idp.identity import users
from tests.admin.conftest import ADMIN


@pytest.fixture
def crowd(app) -> None:
    with app.app_context():
        users.create_user("ada@example.com", "Ada Lovelace", "plum-orchard-47-lantern")
        users.create_user("lovelace@example.com", "Grace Hopper", "plum-orchard-47-lantern")
        verified = users.create_user("adam@example.com", "Adam Smith", "plum-orchard-47-lantern")
        verified.email_verified_at = utcnow()
        db.session.commit()


def emails(api, **params: str) -> list[str]:  # type: ignore[no-untyped-def]
    answer = api("GET", "/people", params=params)
    assert answer.status_code == 200, answer.text
    return [p["email"] for p in answer.json()["people"]]


def test_q_is_the_start_of_the_email_or_the_name(api, crowd):
    assert emails(api, q="ADA") == ["ada@example.com", "adam@example.com"]
    assert emails(api, q="lovelace") == ["lovelace@example.com"]  # not the middle of a name
    assert emails(api, q="grace h") == ["lovelace@example.com"]
    assert emails(api, q="nobody") == []


def test_filters_narrow_the_search_and_combine(api, crowd):
    assert emails(api, filter="admin") == [ADMIN]
    assert emails(api, q="ada", filter="unverified") == ["ada@example.com"]
    assert emails(api, filter="admin,unverified") == [ADMIN]  # the key's owner never verified
    assert emails(api, q="adam", filter="unverified") == []
    assert emails(api, filter="banned") == []


@pytest.mark.parametrize("value", ["bogus", "admin,", "admin,,banned", "ADMIN"])
def test_an_unknown_filter_is_refused(api, crowd, value):
    answer = api("GET", "/people", params={"filter": value})

    assert answer.status_code == 422
    assert answer.json()["detail"] == "The query parameter filter is not valid."
