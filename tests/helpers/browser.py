"""A client that keeps cookies and submits forms the way a browser would.

`Browser(app)` calls the app in-process through Flask's test client (the default: no socket,
no server thread). `Browser(url)` talks HTTP to a live server (tests that need a socket, or
several servers sharing one database). `Browser(http)` is a new browser (a cookie jar of its
own, another device) on whatever the `http` fixture is: the app in-process, or a live server.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from flask import Flask

from tests.helpers.factories import PASSWORD
from tests.helpers.http import AppClient
from tests.helpers.live_server import LiveServer

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A cookie-keeping client that submits forms the way a browser would.

    `http` is the underlying session (`requests.Session`, or an `AppClient` with the same
    surface), `base` the server's URL, `last` the latest response.
    """

    def __init__(self, target: Flask | AppClient | LiveServer | str, http: Any = None) -> None:
        if isinstance(target, LiveServer):
            target = target.url
        elif isinstance(target, AppClient):
            target = target.app
        if isinstance(target, str):
            self.base = target
            self.http: Any = http if http is not None else requests.Session()
        else:
            self.http = http if http is not None else AppClient(target)
            self.base = self.http.base
        self.last: Any = None

    def get(self, path: str, **kwargs: Any) -> Any:
        self.last = self.http.get(self.base + path, allow_redirects=False, **kwargs)
        return self.last

    def csrf(self, page: str) -> str:
        match = CSRF.search(self.get(page).text)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def submit(self, page: str, action: str | None = None, csrf: bool = True, **fields: str) -> Any:
        """Open `page`, take its CSRF token, and POST `fields` to `action` (default: the page)."""
        data = dict(fields)
        if csrf:
            data["csrf_token"] = self.csrf(page)
        self.last = self.http.post(self.base + (action or page), data=data, allow_redirects=False)
        return self.last

    def sign_up(self, email: str, password: str = PASSWORD, name: str = "Ada") -> Any:
        return self.submit("/sign-up", name=name, email=email, password=password)

    def sign_in(self, email: str, password: str = PASSWORD, **extra: str) -> Any:
        return self.submit("/sign-in", email=email, password=password, **extra)

    def cookie(self, name: str = "idp_session") -> str | None:
        value: str | None = self.http.cookies.get(name)
        return value
