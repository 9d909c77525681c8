"""HTTP to an upstream provider: discovery, JWKS, token endpoint, userinfo, GitHub's API.

The same SSRF defences as client metadata documents (idp.oauth.metadata_documents): the host
is resolved once and every address must be public unless IDP_CLIENT_METADATA_ALLOW_PRIVATE;
the connection goes to the vetted address (TLS still checks the URL's host); redirects are not
followed; one timeout and a size limit per answer. `http` only in development. Failures are
`TransportError`; the relying party turns them into its own errors.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from idp.oauth.metadata_documents import is_public
from idp.settings import Settings

MAX_BYTES = 256 * 1024  # discovery documents and JWK sets are a few KB


class TransportError(Exception):
    """The upstream could not be reached, or answered something unusable."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the parsed JSON, or None when the body was not JSON


@dataclass(frozen=True)
class Transport:
    """How upstreams may be reached: the fetch rules, from the settings."""

    timeout: float = 5.0
    allow_private: bool = False
    allow_http: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Transport:
        return cls(
            timeout=float(settings.client_metadata_timeout),
            allow_private=settings.client_metadata_allow_private,
            allow_http=settings.is_development,
        )

    def get(self, url: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", url, None, headers or {})

    def post(self, url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> Answer:
        extra = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", url, urlencode(form).encode(), extra)

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        if not https and not (self.allow_http and parts.scheme == "http"):
            raise TransportError(f"{url} must use https")
        host = parts.hostname or ""
        port = parts.port or (443 if https else 80)
        address = self._vetted(host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"Accept": "application/json", "User-Agent": "idp", **headers}
        try:
            sock = socket.create_connection((address, port), timeout=self.timeout)
            if https:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            connection = _Connection(host, port, sock, https)
            try:
                connection.request(method, target, body=body, headers=sent)
                with connection.getresponse() as response:
                    return _answer(response)
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as error:
            raise TransportError(f"{url} could not be reached: {error!r}") from None

    def _vetted(self, host: str, port: int) -> str:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise TransportError(f"the host {host} is unknown") from None
        addresses = [str(info[4][0]) for info in found]
        if not addresses:
            raise TransportError(f"the host {host} is unknown")
        if not self.allow_private and not all(is_public(a) for a in addresses):
            raise TransportError(f"the host {host} has a private or reserved address")
        return addresses[0]


class _Connection(http.client.HTTPConnection):
    """HTTP over a socket already connected (and wrapped in TLS) to a vetted address."""

    def __init__(self, host: str, port: int, sock: socket.socket, https: bool) -> None:
        super().__init__(host, port)
        self.default_port = 443 if https else 80  # for the Host header
        self.sock = sock

    def connect(self) -> None:
        """Already connected: never resolve the host name again."""


def _answer(response: http.client.HTTPResponse) -> Answer:
    if 300 <= response.status < 400:
        raise TransportError(f"redirect (HTTP {response.status}) not followed")
    body = response.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise TransportError(f"answer larger than {MAX_BYTES} bytes")
    try:
        return Answer(response.status, json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return Answer(response.status, None)
