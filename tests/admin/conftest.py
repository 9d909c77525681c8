"""Fixtures of the admin console's tests: Grace, an admin signed in just now."""

from __future__ import annotations

import html
import re

import pytest

from idp.identity import users
from tests.conftest import PASSWORD, Browser

ADMIN = "grace@example.com"


@pytest.fixture
def admin(app, http) -> Browser:
    """Grace, an admin, signed in with her password just now."""
    with app.app_context():
        users.create_user(ADMIN, "Grace", PASSWORD, is_admin=True)
    browser = Browser(http)
    assert browser.sign_in(ADMIN).status_code == 303
    return browser


def text_of(response) -> str:
    return html.unescape(response.text)


def person_link(page_text: str, email: str) -> str:
    """The path of a person's page, from the people list."""
    match = re.search(r'href="(/admin/people/\d+)">' + re.escape(email) + "<", page_text)
    assert match, f"{email} is not on the page"
    return match.group(1)
