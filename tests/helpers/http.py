"""An HTTP client without a socket: `requests.Session`'s surface over Flask's test client.

`AppClient(app).post("/token", data={...}, auth=(client_id, secret))` is a real WSGI call into
the real app, answered with a `Reply`: werkzeug's test response plus the parts of
`requests.Response` the tests read (`json()`, `content`, `url`, `ok`, `raw.headers`).
Responses are read and closed before they are returned, so work the app schedules for after
the response (`response.call_on_close`) starts as it does under a server.
"""

from __future__ import annotations

import base64
import json as jsonlib
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from idp.settings import Settings, app_settings

# The app's issuer and the test client's base URL: redirects, links in mail and issuer
# checks all read this. Not "http://localhost": tests register http://localhost redirect URIs.
ISSUER = "http://127.0.0.1:5000"

# What requests sends unless told otherwise; the app reads User-Agent (sessions, audit).
DEFAULT_HEADERS = {"User-Agent": "python-requests/test-client", "Accept": "*/*"}


class Reply(TestResponse):
    """A test response that also reads like a `requests.Response`."""

    def json(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """The body as JSON (a method, as in requests; werkzeug's is a property)."""
        return jsonlib.loads(self.get_data(as_text=True), **kwargs)

    @property
    def content(self) -> bytes:
        return self.get_data()

    @property
    def url(self) -> str:
        return str(self.request.url)

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def raw(self) -> SimpleNamespace:
        """`raw.headers.getlist(name)`, as on urllib3's response under requests."""
        return SimpleNamespace(headers=self.headers)


class Cookies:
    """The client's cookie jar, read and written by name (the app's host only)."""

    def __init__(self, client: FlaskClient, domain: str) -> None:
        self._client = client
        self._domain = domain

    def get(self, name: str, default: str | None = None) -> str | None:
        cookie = self._client.get_cookie(name, domain=self._domain)
        return cookie.value if cookie is not None else default

    def set(self, name: str, value: str | None) -> None:
        if value is None:
            self._client.delete_cookie(name, domain=self._domain)
        else:
            self._client.set_cookie(name, value, domain=self._domain)

    def update(self, other: Mapping[str, str] | Cookies) -> None:
        for name, value in other.items():
            self.set(name, value)

    def items(self) -> list[tuple[str, str]]:
        jar = self._client._cookies or {}
        return [(c.key, c.value) for c in jar.values() if c.domain == self._domain]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


class AppClient:
    """Like a `requests.Session` on the app's issuer URL, without a server: paths or absolute
    URLs on `base`, `params`, `data` (form), `json`, `headers`, `auth`, `cookies`,
    `allow_redirects` (default True, as in requests). `environ_base` sets WSGI variables such
    as REMOTE_ADDR (default 127.0.0.1)."""

    def __init__(self, app: Flask, base: str = ISSUER) -> None:
        self.app = app
        self.base = base.rstrip("/")
        self._client = FlaskClient(app, Reply, use_cookies=True)
        self.headers: dict[str, str] = dict(DEFAULT_HEADERS)
        self.cookies = Cookies(self._client, urlsplit(self.base).hostname or "localhost")

    @property
    def settings(self) -> Settings:
        with self.app.app_context():
            return app_settings()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        allow_redirects: bool = True,
        timeout: float | None = None,
        environ_base: dict[str, Any] | None = None,
    ) -> Reply:
        del timeout  # nothing to wait for: the call runs in this thread
        path, query = self._path(url)
        if params:
            extra = urlencode(_pairs(params), doseq=True)
            query = f"{query}&{extra}" if query else extra
        sent = {**self.headers, **(headers or {})}
        body: bytes | str | None = None
        if json is not None:
            body = jsonlib.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        elif isinstance(data, (str, bytes)):
            body = data
        elif data is not None:
            body = urlencode(_pairs(data), doseq=True)
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if auth is not None:
            pair = f"{auth[0]}:{auth[1]}".encode("latin1")
            sent["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        client = self._client
        if cookies:
            # requests sends these with the jar's, for this request only
            client = FlaskClient(self.app, Reply, use_cookies=False)
            jar = dict(self.cookies.items()) | dict(cookies)
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        content_type = next((v for k, v in sent.items() if k.lower() == "content-type"), None)
        sent = {k: v for k, v in sent.items() if k.lower() != "content-type"}
        extra: dict[str, Any] = {"environ_base": environ_base} if environ_base else {}
        response = client.open(
            path,
            method=method.upper(),
            base_url=self.base,
            query_string=query,
            data=body,
            content_type=content_type,
            headers=sent,
            follow_redirects=allow_redirects,
            buffered=True,
            **extra,
        )
        assert isinstance(response, Reply)
        return response

    def get(self, url: str, **kwargs: Any) -> Reply:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Reply:
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> Reply:
        return self.request("OPTIONS", url, **kwargs)

    def post(self, url: str, data: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", url, data=data, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> Reply:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> Reply:
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", url, **kwargs)

    def _path(self, url: str) -> tuple[str, str]:
        if url.startswith(("http://", "https://")):
            if not (url == self.base or url.startswith(self.base + "/")):
                raise ValueError(f"{url} is not on this app ({self.base}); it needs a socket")
            url = url[len(self.base) :] or "/"
        parts = urlsplit(url)
        return parts.path or "/", parts.query


def _pairs(values: Any) -> list[tuple[str, Any]]:
    """Form or query fields as pairs, leaving out None values (as requests does)."""
    items = values.items() if isinstance(values, Mapping) else values
    return [(key, value) for key, value in items if value is not None]
