"""The lean path: the hot protocol endpoints served without Flask's per-request machinery.

A WSGI layer in front of the Flask app (so the test client goes through it as any server
does). A request for one of `LEAN` (matched on its exact path and method, from the app's own
URL map) is answered here:

- JWKS and discovery: precomputed bytes. The JWK Set is the key stores' (idp.keys: re-read
  when a key folder changes, at most a second late in another process); the metadata is
  idp.oauth.discovery's (re-rendered when a resource changes). A request with a query string,
  or a header holding NUL, takes the full path, which refuses or ignores it as before.
- token, introspection, revocation, userinfo: no request context. The request is read
  straight from the environ (idp.web.lean_request), only the app context is pushed, the
  input checks of idp.web.inputs run, then the function that the endpoint's Flask view calls
  too, given this request. Not run: CSRF (these views are exempt), the limiter's app-wide
  hooks (no limit applies to them), the HTML pages' security headers (but HSTS, over HTTPS),
  the sign-in cookie hooks. A kept client (or resource) is used at once and checked with
  the request's own query, before it commits or answers (idp.core.generations); if another
  process changed it, the request runs again. An unexpected error goes to the app's error
  handlers, in a request context made for them. A request of a shape not taken there (a
  JSON or multipart body, say: see idp.web.lean_request) gets a request context with no
  cookie session, and the Flask view.

Each answer goes to the server as a list holding one bytes object (a server writes that at
once, where it iterates a response object chunk by chunk); the documents' headers are built
once per body. `HEAD` is answered as `GET` without the body; everything else goes on to
Flask. Metrics (idp.web.metrics) time the lean requests too, under the same endpoint names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response
from flask.ctx import RequestContext
from flask.sessions import SecureCookieSession
from werkzeug.routing import Rule

from idp.core import audit, generations, metrics
from idp.oauth.discovery import app_metadata, kept_metadata
from idp.oauth.tokens import TokenService, app_tokens
from idp.web import oauth, tokens
from idp.web.headers import HSTS
from idp.web.inputs import check_request, protocol_refusal, refusal
from idp.web.lean_request import LeanRequest

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Answer = Callable[[Request | LeanRequest], Response]
# Endpoint -> what answers a request to it; None: precomputed bytes.
LEAN: dict[str, Answer | None] = {
    "oauth.jwks": None,
    "oauth.discovery": None,
    "oauth.token": oauth.token_response,
    "oauth.userinfo": oauth.userinfo_response,
    "tokens.introspect": tokens.introspection_response,
    "tokens.revoke": tokens.revocation_response,
}


class LeanPath:
    def __init__(self, app: Flask, following: WSGIApplication) -> None:
        self.app = app
        self.following = following
        self.timed = bool(app.extensions["idp.settings"].metrics_token)
        self.https = app.extensions["idp.settings"].is_https
        self.max_age = f"public, max-age={app.extensions['idp.settings'].jwks_max_age}"
        self.max_length: int = app.config["MAX_CONTENT_LENGTH"]
        self.tokens = _tokens_of(app)
        self.schedule = app.extensions.get("idp.key_schedule")
        # Endpoint -> the headers of its precomputed body, and that body.
        self._headers: dict[str, tuple[list[tuple[str, str]], bytes]] = {}
        self.routes: dict[tuple[str, str], Rule] = {}
        for rule in app.url_map.iter_rules():
            if rule.endpoint in LEAN:
                for method in rule.methods or ():
                    if method not in ("HEAD", "OPTIONS"):
                        self.routes[(rule.rule, method)] = rule

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        # RFC 9110 §9.3.2: HEAD answers as GET; Werkzeug leaves the body out.
        routed = "GET" if method == "HEAD" else method
        rule = self.routes.get((environ.get("PATH_INFO", ""), routed))
        if rule is None:
            return self.following(environ, start_response)
        endpoint = rule.endpoint
        started = time.perf_counter()
        if self.schedule is not None and self.schedule.is_due():
            with self.app.app_context():
                self.schedule.look()  # keys rotate by themselves (idp.web.key_schedule)
        if LEAN[endpoint] is None:
            if environ.get("QUERY_STRING") or _holds_nul(environ):
                return self.following(environ, start_response)
            status, headers, body = "200 OK", *self._document(endpoint)
            code = 200
        else:
            response = self._dispatch(environ, rule)
            if self.https:
                response.headers["Strict-Transport-Security"] = HSTS
            status, code = response.status, response.status_code
            headers = response.get_wsgi_headers(environ).to_wsgi_list()
            body = response.get_data()
            response.close()
        if self.timed:
            seconds = time.perf_counter() - started
            metrics.observe_request(endpoint, routed, code, seconds)
        start_response(status, headers)
        # A list: the server writes it at once instead of iterating a response object.
        return [b"" if method == "HEAD" else body]

    def _document(self, endpoint: str) -> tuple[list[tuple[str, str]], bytes]:
        if endpoint == "oauth.jwks":
            body = self.tokens.jwks()
        elif (kept_body := kept_metadata(self.app)) is not None:
            body = kept_body
        else:
            with self.app.app_context():
                body = app_metadata()
        kept = self._headers.get(endpoint)
        if kept is not None and kept[1] is body:
            return kept
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", self.max_age),
            ("Access-Control-Allow-Origin", "*"),
        ]
        if self.https:
            headers.append(("Strict-Transport-Security", HSTS))
        self._headers[endpoint] = (headers, body)
        return headers, body

    def _dispatch(self, environ: WSGIEnvironment, rule: Rule) -> Response:
        request = LeanRequest.from_environ(environ, rule.endpoint, self.max_length)
        answer = LEAN[rule.endpoint]
        if request is None or answer is None:
            return self._in_context(environ, rule)
        origin = audit.request_origin(request.remote_addr, environ.get("HTTP_USER_AGENT", ""))
        with origin:
            try:
                try:
                    return self._answer(request, answer, defer=True)
                except generations.Stale:  # a kept client changed elsewhere: again, checking
                    return self._answer(request, answer, defer=False)
            except Exception as error:
                with _Matched(self.app, environ, rule):
                    return self.app.make_response(self.app.handle_user_exception(error))

    def _answer(self, request: LeanRequest, answer: Answer, *, defer: bool) -> Response:
        """The endpoint's answer, in an app context of its own; with `defer`, kept clients
        and resources are checked with the request's own query, or at its end
        (idp.core.generations), and Stale raised before it commits or answers."""
        with self.app.app_context():
            if defer:
                generations.defer_checks()
            refused = refusal(request)
            response = protocol_refusal(refused) if refused is not None else answer(request)
            generations.verify_deferred()
            return response

    def _in_context(self, environ: WSGIEnvironment, rule: Rule) -> Response:
        with _Matched(self.app, environ, rule):
            try:
                answer: Any = check_request() or self.app.view_functions[rule.endpoint]()
            except Exception as error:
                answer = self.app.handle_user_exception(error)
            return self.app.make_response(answer)


class _Matched(RequestContext):
    """A request context for a request already routed here: its URL rule is known, and its
    session is not read from a cookie, and never saved."""

    def __init__(self, app: Flask, environ: WSGIEnvironment, rule: Rule) -> None:
        super().__init__(app, environ, session=SecureCookieSession())
        self.rule = rule

    def match_request(self) -> None:
        self.request.url_rule, self.request.view_args = self.rule, {}


def _tokens_of(app: Flask) -> TokenService:
    with app.app_context():
        return app_tokens()


def _holds_nul(environ: WSGIEnvironment) -> bool:
    return any("\x00" in value for value in environ.values() if isinstance(value, str))


def init_app(app: Flask) -> None:
    """Put the lean path in front of the app (before any proxy fix or path mount)."""
    following: Callable[..., Any] = app.wsgi_app
    app.wsgi_app = LeanPath(app, following)  # type: ignore[method-assign]
