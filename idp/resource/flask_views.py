"""Flask glue for `ResourceServer`: a `require` decorator and the RFC 9728 metadata view.

api = ResourceServer(issuer, "https://api.example.com/", ["notes:read"])
serve_metadata(app, api)

@app.get("/notes")
@require(api, "notes:read")
def notes(): return {"owner": g.claims.sub}
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, g, jsonify, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.http import quote_header_value

from idp.resource.verifier import BearerError, IssuerUnavailable, ResourceServer

View = TypeVar("View", bound=Callable[..., Any])


def bearer_token() -> str:
    """The token of an `Authorization: Bearer` header (RFC 6750 §2.1), or "" when none."""
    auth = request.authorization
    return (auth.token or "") if auth is not None and auth.type == "bearer" else ""


class BearerChallenge(WWWAuthenticate):
    """A `Bearer` challenge with every value a quoted-string, as RFC 6750 §3 writes them
    (Werkzeug's own serialisation leaves token-shaped values bare)."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__("bearer", dict(values.items()))

    def to_header(self) -> str:
        values = self.parameters.items()
        params = (f"{k}={quote_header_value(v, allow_token=False)}" for k, v in values)
        return "Bearer " + ", ".join(params)


def require(server: ResourceServer, *scopes: str) -> Callable[[View], View]:
    """Let a view run only with a valid access token holding `scopes`; its claims go to
    `g.claims`. Otherwise answer 401/403 JSON with the `WWW-Authenticate` challenge."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                g.claims = server.verify(bearer_token(), scopes)
            except BearerError as error:
                return refusal(error)
            except IssuerUnavailable:
                return jsonify(error="temporarily_unavailable"), 503
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorate


def refusal(error: BearerError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    response.www_authenticate = BearerChallenge(error.challenge())
    response.headers["Cache-Control"] = "no-store"
    return response


def serve_metadata(app: Flask, server: ResourceServer) -> None:
    """Serve the protected resource metadata at its well-known path (RFC 9728 §3)."""

    def metadata() -> Response:
        return jsonify(server.metadata())

    app.add_url_rule(server.metadata_path(), "oauth_protected_resource", metadata, methods=["GET"])
