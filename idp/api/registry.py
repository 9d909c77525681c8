"""The management API's endpoints, declared: each is a function with its method, path,
permission, summary, and the JSON Schemas of its body, query and answer. The same declaration
routes it (idp.api.views), validates what comes in, and describes it in the OpenAPI
document (idp.api.openapi).

Adding an endpoint is one decorated function in the module of its noun:

    @api.endpoint("GET", "/clients/{client_id}", permission="admin:clients:read",
                  summary="Get a client", path_params={"client_id": STRING}, answer=CLIENT)
    def get_client(call: Call) -> Any:
        return client_json(found(call.params["client_id"]))

A path parameter is `{name}`, typed by `path_params` (string or integer). A handler returns
the answer's JSON (with `status`, usually 200; 201 for what it creates; 204 with no body) or
raises ApiProblem; an IdpError from a service becomes 422 (409 when its code says something
is taken: idp.api.views.CONFLICTS). An answer of another media type (`media_type`, CSV say)
is a flask Response. `acting_admin` is who a change to a person or an organization is
recorded under: an API key's owner, or the client behind a client-credentials token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idp.api.callers import Caller
from idp.identity.actors import Actor

Schema = dict[str, Any]
STRING: Schema = {"type": "string", "minLength": 1, "maxLength": 200}
INTEGER: Schema = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


@dataclass
class Call:
    """One request to an endpoint, checked against its declaration."""

    caller: Caller
    params: dict[str, Any]
    query: dict[str, Any]
    body: Any


@dataclass
class Reply:
    """A handler's answer with a status other than its endpoint's (204: no body)."""

    status: int
    body: Any = None


Handler = Callable[[Call], Any]


def acting_admin(call: Call) -> Actor:
    """Who the audit log names for a change made to a person or an organization: an API key's
    owner, or the client behind a client-credentials token (`client:<client_id>`)."""
    actor = call.caller.user or call.caller.client
    assert actor is not None  # every caller is one or the other
    return actor


@dataclass
class Endpoint:
    method: str
    path: str  # OpenAPI form, under /api: /clients/{client_id}
    permission: str | None  # None: any authenticated caller
    summary: str
    handler: Handler
    status: int = 200
    body: Schema | None = None
    answer: Schema | None = None
    path_params: dict[str, Schema] = field(default_factory=dict)
    query: dict[str, Schema] = field(default_factory=dict)
    conflict: bool = False  # whether the service may refuse with 409 (something taken)
    media_type: str = "application/json"  # of the answer; another one is a Response

    @property
    def name(self) -> str:
        return self.handler.__name__

    @property
    def tag(self) -> str:
        return self.path.split("/")[1]

    @property
    def flask_rule(self) -> str:
        def convert(match: re.Match[str]) -> str:
            name = match.group(1)
            kind = "int" if self.path_params[name].get("type") == "integer" else "string"
            return f"<{kind}:{name}>"

        return re.sub(r"\{(\w+)\}", convert, self.path)


class Api:
    """The list of endpoints, in the order they are declared."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def endpoint(
        self, method: str, path: str, *, permission: str | None, summary: str, **options: Any
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, permission, summary, handler, **options))
            return handler

        return declare


api = Api()
