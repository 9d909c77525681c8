"""The management API over HTTP: each declared endpoint (idp.api.registry) becomes a
route of the `api` blueprint that checks, in order: the caller's credentials (401), the
endpoint's permission (403), the caller's rate limit (429), the path (404), the query and
the body against their schemas (400 when the body is not JSON, 422 when it does not match);
then it calls the handler and answers JSON. No cookie session and no CSRF token: every call
carries its own credentials.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from flask import Blueprint, Flask, Response, json, request

from idp.api import openapi
from idp.api.callers import Caller, Refused, caller_for
from idp.api.problems import ApiProblem, unauthorized
from idp.api.registry import Call, Endpoint, Reply, Schema, api
from idp.core.audit import acting_admin
from idp.core.ratelimit import count_per_minute
from idp.db import db
from idp.errors import IdpError
from idp.oauth.bearer import bearer_token
from idp.oauth.tokens import app_tokens

# Service errors that mean "taken": 409 rather than 422.
CONFLICTS = frozenset(
    {
        "email_taken",
        "resource_taken",
        "slug_taken",
        "already_member",
        "already_invited",
        "role_taken",
        "team_taken",
        "already_in_team",
    }
)


def _view(endpoint: Endpoint) -> Any:
    def view(**params: Any) -> Response:
        try:
            caller = _authenticated()
            _allowed(endpoint, caller)
            call = Call(caller, _path(endpoint, params), _query(endpoint), _body(endpoint))
            with _named_in_audit(caller):
                result = endpoint.handler(call)
        except ApiProblem as refused:
            db.session.rollback()
            return refused.response()
        except IdpError as error:
            db.session.rollback()
            field = "/" + error.field if error.field else ""
            detail = [{"pointer": field, "detail": error.message}]
            status = 409 if error.code in CONFLICTS else 422
            return ApiProblem(status, error.message, errors=detail).response()
        return _answer(endpoint, result)

    view.__name__ = endpoint.name
    return view


def _named_in_audit(caller: Caller) -> AbstractContextManager[None]:
    """A client has no user id for the audit rows of its changes: each names it as `admin`
    (`client:<client_id>`). A key's changes are recorded under its owner by the services."""
    return acting_admin(caller.client.email) if caller.client else nullcontext()


def _authenticated() -> Caller:
    secret = bearer_token(request.headers.get("Authorization"))
    if secret is None:
        raise unauthorized(
            "Send an API key or an access token: Authorization: Bearer <credential>.", error=None
        )
    try:
        caller = caller_for(secret, app_tokens())
    except Refused as refused:
        raise unauthorized(refused.message) from None
    if caller.rate_limit is not None:
        wait = count_per_minute(caller.rate_limit, "api", caller.subject)
        if wait is not None:
            raise ApiProblem(
                429,
                f"This key allows {caller.rate_limit} requests a minute; "
                f"try again in {wait} seconds.",
                headers={"Retry-After": str(wait)},
            )
    return caller


def _allowed(endpoint: Endpoint, caller: Caller) -> None:
    if endpoint.permission and endpoint.permission not in caller.permissions:
        raise ApiProblem(403, f"This needs the permission {endpoint.permission}.")


def _path(endpoint: Endpoint, params: dict[str, Any]) -> dict[str, Any]:
    for name, value in params.items():
        if _problems(endpoint.path_params[name], value, f"/{name}"):
            raise ApiProblem(404, f"No {endpoint.tag} has the {name} {value}.")
    return params


def _query(endpoint: Endpoint) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, schema in endpoint.query.items():
        if name not in request.args:
            continue
        text = request.args[name]
        value: Any = int(text) if schema.get("type") == "integer" and _digits(text) else text
        problems = _problems(schema, value, f"/{name}")
        if problems:
            raise ApiProblem(422, f"The query parameter {name} is not valid.", errors=problems)
        values[name] = value
    return values


def _digits(text: str) -> bool:
    return text.isascii() and text.lstrip("-").isdigit() and len(text) < 20


def _body(endpoint: Endpoint) -> Any:
    if endpoint.body is None:
        return None
    try:
        body = json.loads(request.get_data(cache=True) or b"")
    except ValueError:
        raise ApiProblem(400, "The body is not JSON.") from None
    problems = _problems(endpoint.body, body, "")
    if problems:
        raise ApiProblem(422, "The body does not match the schema.", errors=problems)
    return body


def _problems(schema: Schema, value: Any, base: str) -> list[dict[str, str]]:
    # Imported by the first API call with a body, not at start (about 3 MiB).
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: e.path)
    return [
        {"pointer": base + "".join(f"/{part}" for part in error.path), "detail": error.message}
        for error in errors[:10]
    ]


def _answer(endpoint: Endpoint, result: Any) -> Response:
    if isinstance(result, Response):  # another media type than JSON (CSV, say)
        result.headers["Cache-Control"] = "no-store"
        return result
    status, body = (result.status, result.body) if isinstance(result, Reply) else (0, result)
    status = status or endpoint.status
    response = Response(
        None if status == 204 else json.dumps(body),
        status=status,
        mimetype=None if status == 204 else "application/json",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _openapi() -> Response:
    response = Response(json.dumps(openapi.document(api.endpoints)), mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def init_app(app: Flask) -> None:
    bp = Blueprint("api", __name__, url_prefix="/api")
    for endpoint in api.endpoints:
        bp.add_url_rule(
            endpoint.flask_rule, endpoint.name, _view(endpoint), methods=[endpoint.method]
        )
    bp.add_url_rule("/openapi.json", "openapi", _openapi)
    app.register_blueprint(bp)
    app.extensions["csrf"].exempt(bp)
