"""The GitHub preset against a local server answering as GitHub's documented API does
("Authorizing OAuth apps", web application flow; REST "Get the authenticated user" and
"List email addresses for the authenticated user"), as a GitHub Enterprise Server at
<base> with its API at <base>/api/v3. Loopback only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.models import FederatedIdentity
from idp.identity import users
from tests.federation.scripted import JsonServer
from tests.federation.upstream_peer import configure

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
TOKEN = "gho_16C7e42F292c6912E7710c838347Ae178B4a"


class FakeGitHub:
    def __init__(self) -> None:
        self.emails: list[dict[str, Any]] = [
            {"email": "octocat@example.com", "verified": True, "primary": True},
            {"email": "other@example.com", "verified": True, "primary": False},
        ]
        self.token_answer: dict[str, Any] = {
            "access_token": TOKEN,
            "scope": "read:user,user:email",
            "token_type": "bearer",
        }
        self.server = JsonServer(
            {
                ("POST", "/login/oauth/access_token"): lambda p, h: (200, self.token_answer),
                ("GET", "/api/v3/user"): self._user,
                ("GET", "/api/v3/user/emails"): lambda p, h: self._authorized(h, self.emails),
            }
        )

    def _user(self, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        user = {"login": "octocat", "id": 583231, "name": "The Octocat", "email": None}
        return self._authorized(headers, user)

    def _authorized(self, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"message": "Requires authentication"}
        return 200, body


@pytest.fixture
def github(server) -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    configure(
        server.app,
        "github",
        fake.server.url,
        "Iv1.8a61f9b3a7aba766",
        "s3cret",
        name="GitHub",
        kind="github",
    )
    yield fake
    fake.server.stop()


def sign_in(server) -> tuple[requests.Session, requests.Response]:
    http = requests.Session()
    start = http.get(server.url + "/sign-in/with/github", allow_redirects=False, timeout=20)
    assert start.status_code == 303
    authorize = urlsplit(start.headers["Location"])
    assert authorize.path == "/login/oauth/authorize"
    state = parse_qs(authorize.query)["state"][0]
    query = urlencode({"code": "e72e16c7e42f292c6912", "state": state})
    url = f"{server.url}/sign-in/with/github/callback?{query}"
    return http, http.get(url, allow_redirects=False, timeout=20)


def test_github_sign_in_uses_the_primary_verified_email(server, github):
    """The subject is the numeric id; the email is the primary one GitHub marks verified."""
    _, answer = sign_in(server)

    assert answer.status_code == 303 and answer.headers["Location"] == "/account"
    with server.app.app_context():
        user = users.find_by_email("octocat@example.com")
        assert user is not None and user.email_verified_at is not None
        assert user.name == "The Octocat"
        link = db.session.scalar(select(FederatedIdentity))
        assert link is not None and (link.source, link.subject) == ("github", "583231")
    token_call = next(s for s in github.server.seen if s[1] == "/login/oauth/access_token")
    _, _, form, headers = token_call
    assert form["client_id"] == "Iv1.8a61f9b3a7aba766" and form["client_secret"] == "s3cret"
    assert form["code"] == "e72e16c7e42f292c6912" and len(form["code_verifier"]) >= 43
    assert headers["accept"] == "application/json"


def test_an_unverified_primary_email_asks_to_prove_an_account(server, github, snapshot):
    """GitHub does not vouch for an unverified address: no account is created or linked; the
    person is asked to sign in to an account here (the same page whether or not one has the
    address)."""
    github.emails[0]["verified"] = False
    before = snapshot()

    http, answer = sign_in(server)

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/sign-in/with/github/continue"
    page = http.get(server.url + answer.headers["Location"], timeout=20)
    assert "Sign in to link GitHub" in page.text
    assert snapshot() == before


def test_a_token_endpoint_error_is_refused(server, github, snapshot):
    """GitHub answers a bad code with HTTP 200 and an `error` member."""
    github.token_answer = {"error": "bad_verification_code", "error_description": "expired"}
    before = snapshot()

    _, answer = sign_in(server)

    assert answer.status_code == 400
    assert "The provider refused to complete the sign-in." in answer.text
    with server.app.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "federated_sign_in_failed")
        )
        assert event.detail["reason"] == "token_request"
    assert snapshot() == before
