"""Client ID Metadata Documents: a client_id that is an https URL names the client's metadata.

MCP authorization 2025-11-25, "Client ID Metadata Documents", and
draft-ietf-oauth-client-id-metadata-document ("the draft"; sections as in -00/-01):

- §3: the URL is https, has a path, no `.` or `..` segments, no fragment and no user
  information. `http` is accepted only in development, for documents on a laptop.
- §4: the document is fetched with GET; only `200` with a JSON content type counts; redirects
  are never followed. §4.1: a JSON object whose `client_id` equals the URL exactly, with
  `client_name` and `redirect_uris` (MCP); no shared secret (`client_secret*`,
  secret-based authentication). Its metadata is checked like a dynamic registration's.
- §4.4: documents are cached as their Cache-Control says (`no-store`/`no-cache`: not at all),
  within MIN_CACHE..MAX_CACHE seconds; errors are never cached.
- §6.5 and §6.6 (SSRF, response size): the host is resolved once, every address must be public
  unless IDP_CLIENT_METADATA_ALLOW_PRIVATE, and the connection goes to the vetted address (no
  second lookup to rebind); the whole fetch has one deadline and the body a size limit.

A valid document becomes a `Client` row whose client_id is the URL (refreshed when a refetched
document differs), so codes, tokens and consents can refer to it. What goes wrong is a
`MetadataDocumentError` with a message safe to show.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError
from joserfc.errors import JoseError

from idp.core.security import digest
from idp.core.store import Store, StoreUnavailable
from idp.errors import IdpError, InvalidInput
from idp.oauth import clients
from idp.oauth.models import Client
from idp.oauth.registration import ClientMetadata, client_spec
from idp.settings import Settings

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 200  # the length of Client.client_id
MIN_CACHE = 60
MAX_CACHE = 86400
GRANT_TYPES = {"authorization_code", "refresh_token"}
AUTH_METHODS = ["none", "private_key_jwt"]  # §4.1: nothing built on a shared secret
JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)")


class MetadataDocumentError(IdpError):
    """A client metadata document could not be used; the message says why."""

    code = "invalid_client"


@dataclass(frozen=True)
class FetchRules:
    """How documents may be fetched: the settings of the SSRF defences."""

    timeout: float
    max_bytes: int
    allow_private: bool
    allow_http: bool


@dataclass(frozen=True)
class Fetched:
    body: bytes
    content_type: str
    cache_seconds: int  # 0: do not cache


def from_settings(settings: Settings, store: Store) -> MetadataDocuments | None:
    """The resolver the settings ask for, or None when documents are turned off."""
    if not settings.client_metadata_documents:
        return None
    rules = FetchRules(
        timeout=settings.client_metadata_timeout,
        max_bytes=settings.client_metadata_max_bytes,
        allow_private=settings.client_metadata_allow_private,
        allow_http=settings.is_development,
    )
    return MetadataDocuments(store, rules)


def names_document(client_id: str) -> bool:
    """Whether `client_id` is meant as a document URL (issued client ids never hold "://")."""
    return client_id.startswith(("https://", "http://"))


def problem_with_url(url: str, *, allow_http: bool) -> str | None:
    """Why `url` cannot be a client_id URL (the draft §3), or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        return "must be ASCII without spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        return "must use https"
    if not parts.hostname:
        return "must name a host"
    if "@" in parts.netloc:
        return "must not contain a user name or password"
    if "#" in url:
        return "must not contain a fragment"
    if parts.path in ("", "/"):
        return "must have a path, such as /client-metadata.json"
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        return "must not contain . or .. path segments"
    return None


class MetadataDocuments:
    """Resolves document URLs to clients, fetching and caching the documents."""

    def __init__(self, store: Store, rules: FetchRules) -> None:
        self.store = store
        self.rules = rules

    def client(self, url: str) -> Client:
        problem = problem_with_url(url, allow_http=self.rules.allow_http)
        if problem:
            raise MetadataDocumentError(f"The client_id URL {problem}.")
        key = "client-metadata:" + digest(url)
        if self._cached(key):
            client = clients.find_client(url)
            if client is not None:
                return client
        fetched = fetch(url, self.rules)
        client = save(url, parse(url, fetched))
        if fetched.cache_seconds:
            try:
                self.store.set(key, b"1", fetched.cache_seconds)
            except StoreUnavailable:
                log.warning("cannot cache a client metadata document: the store is unavailable")
        return client

    def _cached(self, key: str) -> bool:
        try:
            return self.store.get(key) is not None
        except StoreUnavailable:
            return False


def parse(url: str, fetched: Fetched) -> clients.ClientSpec:
    """The client a fetched document describes, or MetadataDocumentError saying what's wrong."""
    where = f"The client metadata document at {url}"
    if not JSON_TYPE.match(fetched.content_type):
        raise MetadataDocumentError(f"{where} is not served as application/json.")
    try:
        document = json.loads(fetched.body)
    except (ValueError, UnicodeDecodeError):
        raise MetadataDocumentError(f"{where} is not valid JSON.") from None
    if not isinstance(document, dict):
        raise MetadataDocumentError(f"{where} is not a JSON object.")
    if document.get("client_id") != url:
        raise MetadataDocumentError(f"{where} names another client_id; it must be its own URL.")
    return _spec(where, document)


def _spec(where: str, document: dict[str, Any]) -> clients.ClientSpec:
    if any(key.startswith("client_secret") for key in document):
        raise MetadataDocumentError(f"{where} must not contain a client secret.")
    name = document.get("client_name")
    if not isinstance(name, str) or not name.strip():
        raise MetadataDocumentError(f"{where} has no client_name.")
    if not document.get("redirect_uris"):
        raise MetadataDocumentError(f"{where} has no redirect_uris.")
    document = {"token_endpoint_auth_method": "none", **document}
    claims = ClientMetadata(
        document, {}, {}, {"token_endpoint_auth_methods_supported": AUTH_METHODS}
    )
    try:
        claims.validate()
    except (InvalidClientMetadataError, InvalidRedirectURIError, JoseError) as error:
        raise MetadataDocumentError(f"{where}: {error.description}") from None
    metadata = claims.get_registered_claims()
    extra = set(metadata["grant_types"]) - GRANT_TYPES
    if extra:
        raise MetadataDocumentError(
            f"{where} asks for {', '.join(sorted(extra))}; only authorization_code and "
            "refresh_token are allowed."
        )
    return client_spec(metadata)


def save(url: str, spec: clients.ClientSpec) -> Client:
    try:
        return clients.put_client(url, spec)
    except InvalidInput as error:
        raise MetadataDocumentError(
            f"The client metadata document at {url}: {error.message}"
        ) from None


def fetch(url: str, rules: FetchRules) -> Fetched:
    """GET the document under the SSRF defences; MetadataDocumentError on any failure."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    deadline = time.monotonic() + rules.timeout
    address = vetted_address(host, port, allow_private=rules.allow_private)
    where = f"The client metadata document at {url}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with _connection(host, port, address, https, deadline) as connection:
            connection.request(
                "GET", target, headers={"Accept": "application/json", "User-Agent": "idp"}
            )
            with connection.getresponse() as response:
                fetched = _read(where, response, rules.max_bytes)
        if time.monotonic() >= deadline:  # cut short by the deadline, whatever arrived
            raise TimeoutError
        return fetched
    except MetadataDocumentError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        log.info("fetching %s failed: %r", url, error)
        if time.monotonic() >= deadline:
            unit = "second" if rules.timeout == 1 else "seconds"
            raise MetadataDocumentError(
                f"{where} did not arrive within {rules.timeout:g} {unit}."
            ) from None
        raise MetadataDocumentError(f"{where} could not be fetched.") from None


def vetted_address(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to; every address the host resolves to must be public."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise MetadataDocumentError(f"The host {host} of the client_id URL is unknown.") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise MetadataDocumentError(f"The host {host} of the client_id URL is unknown.")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise MetadataDocumentError(
            f"The host {host} of the client_id URL has a private or reserved address; "
            "metadata documents are fetched only from public addresses."
        )
    return addresses[0]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class _Connection(http.client.HTTPConnection):
    """HTTP over a socket that is already connected (and wrapped in TLS) to a vetted address."""

    def __init__(self, host: str, port: int, sock: socket.socket, https: bool) -> None:
        super().__init__(host, port)
        self.default_port = 443 if https else 80  # for the Host header
        self.sock = sock

    def connect(self) -> None:
        """Already connected: never resolve the host name again."""


class _Deadline:
    """Shuts the connection down when the deadline passes, however slowly bytes trickle in."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._handle = sock.dup()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with suppress(OSError):  # already closed: nothing to cut
            self._handle.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
        self._handle.close()


@contextmanager
def _connection(
    host: str, port: int, address: str, https: bool, deadline: float
) -> Iterator[_Connection]:
    left = max(0.01, deadline - time.monotonic())
    sock = socket.create_connection((address, port), timeout=left)
    guard = _Deadline(sock, deadline)
    try:
        if https:
            # TLS checks the certificate against the URL's host, not the address.
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        connection = _Connection(host, port, sock, https)
        try:
            yield connection
        finally:
            connection.close()
    finally:
        guard.cancel()
        sock.close()


def _read(where: str, response: http.client.HTTPResponse, max_bytes: int) -> Fetched:
    if 300 <= response.status < 400:
        raise MetadataDocumentError(
            f"{where} redirects (HTTP {response.status}); redirects are not followed."
        )
    if response.status != 200:
        raise MetadataDocumentError(f"{where} answered HTTP {response.status}, not 200.")
    too_large = MetadataDocumentError(f"{where} is larger than {max_bytes} bytes.")
    declared = response.getheader("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise too_large
    body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise too_large
    if declared is not None and declared.strip().isdigit() and len(body) < int(declared):
        raise http.client.IncompleteRead(body, int(declared) - len(body))
    content_type = (response.getheader("Content-Type") or "").split(";", 1)[0].strip().lower()
    return Fetched(body, content_type, cache_seconds(response.getheader("Cache-Control")))


def cache_seconds(cache_control: str | None) -> int:
    """How long to keep a document (the draft §4.4): as its Cache-Control says, within bounds."""
    value = (cache_control or "").lower()
    if "no-store" in value or "no-cache" in value:
        return 0
    match = MAX_AGE.search(value)
    seconds = int(match.group(1)) if match else MIN_CACHE
    return min(max(seconds, MIN_CACHE), MAX_CACHE)
