"""The first check of every request: input that no view may see is refused at the door.

- A NUL character anywhere (the path, the query, the form, a JSON body, a header or cookie,
  the credentials inside a Basic Authorization header): 400 invalid_request. PostgreSQL
  refuses NUL in text, and no field of ours may hold one.
- A JSON body nested deeper than idp.core.inputs.MAX_JSON_DEPTH: 400 invalid_request.
- Where clients authenticate (RFC 6749 §2.3), an Authorization header with no credentials or
  a Basic one that is not base64 of UTF-8 `id:secret` (RFC 7617 §2): 401 invalid_client
  (RFC 6749 §5.2).
- At the protocol endpoints and the pages clients send people to (/authorize, /logout), a
  parameter holding a character no valid value has (idp.oauth.errors) or longer than its
  limit (idp.oauth.limits): invalid_request, invalid_scope or invalid_target.

Protocol endpoints answer JSON with `error` and `error_description` (RFC 6749 §5.2); pages
answer the error page (or JSON to a client that asks for it). The description never repeats
what was sent.
"""

from __future__ import annotations

import base64

from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError, OAuth2Error
from flask import Flask, Request, Response, jsonify, make_response, request

from idp.api.problems import is_api_request, problem
from idp.core.inputs import TooDeep, check_depth, holds_nul
from idp.oauth.errors import unprintable_parameter
from idp.oauth.limits import oversized_parameter
from idp.web.errors import render_error
from idp.web.lean_request import LeanRequest

# Endpoints that answer clients in JSON.
PROTOCOL_ENDPOINTS = frozenset(
    {
        "oauth.token",
        "oauth.userinfo",
        "tokens.introspect",
        "tokens.revoke",
        "device.device_authorization",
        "registration.register",
        "registration.configure",
    }
)
# Protocol endpoints where clients authenticate (RFC 6749 §2.3).
CLIENT_AUTHENTICATION = frozenset(
    {"oauth.token", "tokens.introspect", "tokens.revoke", "device.device_authorization"}
)
# Where the OAuth parameters' syntax and limits are checked.
PARAMETER_ENDPOINTS = PROTOCOL_ENDPOINTS | {
    "oauth.authorize",
    "logout.end_session",
    "logout.confirm",
}
NUL = "Requests must not contain NUL characters."


def check_request() -> Response | None:
    """Refuse the request (see the module docstring), or None to let it through."""
    error = refusal(request)
    return None if error is None else _refuse(error)


def refusal(request: Request | LeanRequest) -> OAuth2Error | None:
    """Why `request` is refused, or None: Flask's request, or the lean path's."""
    params = _parameters(request)
    error = _nul_or_depth(request, params) or _basic_credentials(request)
    if error is None and request.endpoint in PARAMETER_ENDPOINTS:
        error = unprintable_parameter(params)
        oversized = oversized_parameter(params)
        if error is None and oversized:
            error = InvalidRequestError(oversized)
    return error


def _nul_or_depth(
    request: Request | LeanRequest, params: list[tuple[str, str]]
) -> OAuth2Error | None:
    # The environ's strings hold the path and every header, undecoded as the server gave them.
    texts = [value for value in request.environ.values() if type(value) is str]
    if "HTTP_COOKIE" in request.environ:
        texts += request.cookies.values()  # their escapes decoded
    for name, value in params:
        texts += (name, value)
    if any("\x00" in text for text in texts):
        return InvalidRequestError(NUL)
    if isinstance(request, LeanRequest) or not request.is_json:
        return None  # the lean path takes no JSON body
    try:
        body = request.get_json(silent=True)  # parsed once; views read the cached result
        check_depth(body)
    except (RecursionError, TooDeep):
        return InvalidRequestError(str(TooDeep()))
    return InvalidRequestError(NUL) if holds_nul(body) else None


def _basic_credentials(request: Request | LeanRequest) -> OAuth2Error | None:
    """RFC 7617 §2: base64 of `client_id:secret` in UTF-8 (RFC 6749 §2.3.1 form-encodes
    both first). Anything else, or a scheme without credentials where clients authenticate,
    is a failed client authentication."""
    header = request.headers.get("Authorization")
    if header is None or request.endpoint not in CLIENT_AUTHENTICATION:
        return None
    scheme, *rest = header.split(None, 1) or [""]
    if not rest:
        return _failed_client_authentication()
    if scheme.lower() != "basic":
        return None
    try:
        credentials = base64.b64decode("".join(rest), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII text
        credentials = ""
    if ":" not in credentials:
        return _failed_client_authentication()
    return InvalidRequestError(NUL) if "\x00" in credentials else None


def _failed_client_authentication() -> OAuth2Error:
    return InvalidClientError(
        description="The Authorization header is not Basic with base64 of UTF-8 id:secret.",
        status_code=401,
    )


def _parameters(request: Request | LeanRequest) -> list[tuple[str, str]]:
    pairs = list(request.args.items(multi=True))
    if request.method != "GET":
        pairs += request.form.items(multi=True)
    return pairs


def protocol_refusal(error: OAuth2Error) -> Response:
    """A protocol endpoint's answer to a refused request (RFC 6749 §5.2)."""
    response = jsonify(error=error.error, error_description=error.description)
    response.status_code = error.status_code or 400
    response.headers["Cache-Control"] = "no-store"
    if isinstance(error, InvalidClientError):
        response.headers["WWW-Authenticate"] = 'Basic error="invalid_client"'
    return response


def _refuse(error: OAuth2Error) -> Response:
    status = error.status_code or 400
    if is_api_request():
        return problem(status, f"{error.description} ({error.error})")
    if request.endpoint in PROTOCOL_ENDPOINTS:
        return protocol_refusal(error)
    return make_response(render_error(status, f"{error.description} ({error.error})"))


def init_app(app: Flask) -> None:
    app.before_request(check_request)
