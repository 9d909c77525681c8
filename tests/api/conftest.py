"""Fixtures for the management API: an administrator with an API key holding every
permission, and a helper that calls the API with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from idp.api.keys import create_key
from idp.api.models import ApiKey
from idp.core.security import digest
from idp.db import db
from idp.identity import users
from idp.oauth.management import SCOPES
from tests.conftest import PASSWORD

ADMIN = "grace@example.com"


@dataclass
class Api:
    """Calls /api with `key` as its bearer credential."""

    http: Any
    key: str | None

    def __call__(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        credential = key or self.key
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        return self.http.request(method, "/api" + path, headers=headers, timeout=10, **kwargs)


def make_key(app, email: str = ADMIN, permissions=tuple(SCOPES), **options: Any) -> str:
    """An API key for `email` (made an admin if new), with `permissions`."""
    with app.app_context():
        owner = users.find_by_email(email) or users.create_user(
            email, "Grace", PASSWORD, is_admin=True
        )
        _, secret = create_key(owner, "test", list(permissions), **options)
        db.session.commit()
        return secret


def key_id(app, secret: str) -> int:
    """The id of the stored key `secret`."""
    with app.app_context():
        return int(db.session.scalar(select(ApiKey.id).where(ApiKey.key_hash == digest(secret))))


@pytest.fixture
def admin_key(app) -> str:
    return make_key(app)


@pytest.fixture
def api(http, admin_key) -> Api:
    """The API with the admin's key, used once already: its last use is then written at
    most once a minute, so a snapshot taken after this shows what a request stored."""
    caller = Api(http, admin_key)
    assert caller("GET", "/clients").status_code == 200
    return caller
