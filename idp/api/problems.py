"""Errors of the management API as problem details (RFC 9457): `application/problem+json`
with `type`, `title`, `status` and `detail`, and `errors` (where in the body, what is wrong)
for a body that does not match its schema. A 401 carries a Bearer challenge (RFC 6750 §3).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from werkzeug.http import HTTP_STATUS_CODES

from idp.oauth.bearer import BearerChallenge

MEDIA_TYPE = "application/problem+json"
PREFIX = "/api/"

# The schema of every error body, for the OpenAPI document.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}


class ApiProblem(Exception):
    """An answer other than success, with what the caller can do about it."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> Response:
        return problem(self.status, self.detail, errors=self.errors, headers=self.headers)


def unauthorized(detail: str, *, error: str | None = "invalid_token") -> ApiProblem:
    """401 with the challenge (RFC 6750 §3): without credentials, no error code (§3.1)."""
    values = {"realm": "api"}
    if error:
        values |= {"error": error, "error_description": detail}
    return ApiProblem(
        401, detail, headers={"WWW-Authenticate": BearerChallenge(values).to_header()}
    )


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def is_api_request() -> bool:
    """Whether the request is for the management API, which answers errors as problems."""
    return request.path.startswith(PREFIX) or request.path == PREFIX.rstrip("/")
