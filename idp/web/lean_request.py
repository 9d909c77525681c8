"""The request of the lean path (idp.web.lean): what the hot protocol endpoints read of an HTTP
request, taken straight from the WSGI environ, without Flask's request context.

It answers to the names of Flask's request that those endpoints, the input checks
(idp.web.inputs), Authlib's request (idp.oauth.server) and the audit log read: `method`,
`headers`, `args`, `form`, `values`, `cookies`, `endpoint`, `remote_addr`,
`user_agent`, and the parts of the URL. The values are Werkzeug's own types, parsed by the
same functions Flask's request uses.

`from_environ` takes only the common shape of a protocol request: no body, or a form body
(`application/x-www-form-urlencoded`, RFC 6749 §3.2) of a stated length within the app's
limit, in UTF-8. Anything else (JSON, multipart, a chunked body, an oversized one) is None,
and the request goes through Flask, which answers it as before.
"""

from __future__ import annotations

import io
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from werkzeug.datastructures import (
    CombinedMultiDict,
    EnvironHeaders,
    ImmutableMultiDict,
    MultiDict,
)
from werkzeug.http import parse_cookie
from werkzeug.sansio.utils import get_host
from werkzeug.user_agent import UserAgent

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

FORM = "application/x-www-form-urlencoded"


class LeanRequest:
    def __init__(self, environ: WSGIEnvironment, endpoint: str, body: bytes) -> None:
        self.environ = environ
        self.endpoint = endpoint
        self.method: str = environ["REQUEST_METHOD"]
        self.headers = EnvironHeaders(environ)
        self.query_string: bytes = environ.get("QUERY_STRING", "").encode("latin-1")
        self.args = _pairs(self.query_string.decode())
        self.form = _pairs(body.decode()) if body else ImmutableMultiDict()
        # Werkzeug's `values`: a GET's body is not read as parameters.
        sources = [self.args] if self.method == "GET" else [self.args, self.form]
        self.values = CombinedMultiDict(sources)
        self.scheme: str = environ["wsgi.url_scheme"]
        self.root_path: str = environ.get("SCRIPT_NAME", "")
        self.path: str = environ.get("PATH_INFO", "")
        self.remote_addr: str | None = environ.get("REMOTE_ADDR")

    @classmethod
    def from_environ(
        cls, environ: WSGIEnvironment, endpoint: str, max_length: int
    ) -> LeanRequest | None:
        """The request, or None if its body is not of the shape taken here (module doc).
        The body read is put back into the environ, for Flask to read should the request go
        there after all."""
        length = environ.get("CONTENT_LENGTH") or ""
        kind = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if not length or length == "0":
            if kind or environ.get("HTTP_TRANSFER_ENCODING"):
                return None
            return cls(environ, endpoint, b"")
        if kind != FORM or not length.isdigit() or int(length) > max_length:
            return None
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return cls(environ, endpoint, body)
        except UnicodeDecodeError:
            return None

    @cached_property
    def host(self) -> str:
        server = (self.environ["SERVER_NAME"], self.environ.get("SERVER_PORT"))
        return get_host(self.scheme, self.environ.get("HTTP_HOST"), server)

    @cached_property
    def cookies(self) -> MultiDict[str, str]:
        return parse_cookie(self.environ)

    @cached_property
    def user_agent(self) -> UserAgent:
        return UserAgent(self.environ.get("HTTP_USER_AGENT", ""))


def _pairs(text: str) -> ImmutableMultiDict[str, str]:
    # As Werkzeug parses a query string or a form body.
    return ImmutableMultiDict(parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"))
