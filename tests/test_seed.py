"""The benchmark seed (bench/seed.py) writes rows the hot paths accept: a seeded user signs in
with the seeded password, a seeded refresh token is redeemed by the seeded client (RFC 6749
§6) and its access token reaches userinfo (OpenID Connect Core §5.3), and introspection
finds another seeded refresh token active (RFC 7662 §2.2). Run at a tiny size, on SQLite
through INSERTs, on PostgreSQL through COPY.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from bench import seed
from idp.db import db
from idp.identity.models import User
from idp.oauth.models import RefreshToken, TokenFamily
from tests.conftest import PASSWORD, Browser


@pytest.fixture
def seeded(app, env, monkeypatch) -> dict:
    for name, value in env.items():
        monkeypatch.setitem(os.environ, name, value)
    return seed.main(["--users", "5", "--tokens", "12", "--batch", "4", "--password", PASSWORD])


def test_seeded_rows_work_on_the_hot_paths(http, app, seeded):
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 5
        assert db.session.scalar(select(func.count()).select_from(TokenFamily)) == 12
        assert db.session.scalar(select(func.count()).select_from(RefreshToken)) == 12
    user_id = seeded["first_user_id"] + 3
    assert Browser(http).sign_in(f"seed{user_id}@example.com").status_code == 303

    auth = (seeded["client_id"], seeded["client_secret"])
    form = {"grant_type": "refresh_token", "refresh_token": f"{seed.REFRESH_PREFIX}3"}
    refreshed = http.post("/token", data=form, auth=auth)
    assert refreshed.status_code == 200, refreshed.text
    bearer = {"Authorization": "Bearer " + refreshed.json()["access_token"]}
    claims = http.get("/userinfo", headers=bearer).json()
    assert claims["sub"] == str(user_id)

    introspected = http.post("/introspect", data={"token": f"{seed.REFRESH_PREFIX}7"}, auth=auth)
    assert introspected.json()["active"] is True
