"""The OpenAPI 3.1 document of the management API (/api/openapi.json), generated from the
declared endpoints (idp.api.registry): their paths, methods, permissions (as OAuth scopes),
parameters, bodies and answers, and the problem-details errors each can give.
"""

from __future__ import annotations

from typing import Any

from idp.api import problems
from idp.api.registry import Endpoint
from idp.oauth.management import SCOPES, management_uri
from idp.settings import app_settings

VERSION = "1"


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    issuer = app_settings().issuer
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{app_settings().site_name} management API",
            "version": VERSION,
            "description": "Send an API key, or an access token from the client_credentials "
            f"grant with resource={management_uri(issuer)}, as Authorization: Bearer. "
            "Errors are problem details (RFC 9457).",
        },
        "servers": [{"url": management_uri(issuer)}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key"},
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": issuer.rstrip("/") + "/token",
                            "scopes": dict(SCOPES),
                        }
                    },
                },
            },
            "schemas": {"Problem": problems.SCHEMA},
        },
    }


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "security": [
            {"bearer": []},
            {"oauth2": [endpoint.permission] if endpoint.permission else []},
        ],
        "responses": _responses(endpoint),
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in endpoint.path_params.items()
    ] + [{"name": name, "in": "query", "schema": schema} for name, schema in endpoint.query.items()]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": endpoint.body}},
        }
    if endpoint.permission:
        operation["description"] = f"Needs the permission `{endpoint.permission}`."
    return operation


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Done"}
    if endpoint.answer is not None:
        success["content"] = {endpoint.media_type: {"schema": endpoint.answer}}
    responses = {str(endpoint.status): success}
    errors = {
        "400": "Malformed: the body is not JSON, or the request holds NUL or is nested too deep",
        "401": "Missing, unknown, revoked or expired credentials",
        "429": "Rate limited",
    }
    if endpoint.permission:
        errors["403"] = "The credentials lack the permission"
    if endpoint.body is not None or endpoint.query or endpoint.method != "GET":
        errors["422"] = "The request does not match its schema, or is refused by a rule"
    if endpoint.path_params:
        errors["404"] = "Not found"
    if endpoint.method != "GET":
        errors["409"] = "Conflicts with what is stored"
    for status, description in sorted(errors.items()):
        responses[status] = {
            "description": description,
            "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return responses
