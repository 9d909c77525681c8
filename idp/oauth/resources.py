"""Resource indicators (RFC 8707): the registry of protected resources, and the `resource`
request parameter checked against it.

A `Resource` is an API or MCP server that accepts our access tokens: its URI (the token's
`aud`), a name shown on the consent page, the scopes it accepts with a plain-words description
each, and optionally its own access-token lifetime. An access token for resources carries
them as its audience and only the scopes they accept (`Target.cut`).

A `resource` value must be an absolute URI without a fragment (RFC 8707 §2); an unregistered
one is refused with `invalid_target` unless IDP_ALLOW_UNREGISTERED_RESOURCES is set.

The scopes of registered resources are valid scopes (`valid_scopes`) beside OpenID Connect's:
clients may register with them (RFC 7591 §2), and discovery lists them (RFC 8414 §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidScopeError
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from idp.core import generations
from idp.core.audit import Event, record
from idp.db import Model, UTCDateTime, db, utcnow
from idp.errors import InvalidInput
from idp.identity.models import User
from idp.oauth import management
from idp.oauth.errors import InvalidTargetError, printable
from idp.oauth.limits import MAX_LIFETIME
from idp.oauth.scopes import SUPPORTED_SCOPES
from idp.settings import app_settings

MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 200
MAX_SCOPE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 200
LIFETIME_RANGE = f"The access-token lifetime must be 1 to {MAX_LIFETIME} seconds."


class ResourceTaken(InvalidInput):
    """The URI names a resource already registered (or the built-in management API)."""

    code = "resource_taken"


class Resource(Model):
    """A protected resource (RFC 8707 §1) registered with this provider."""

    __tablename__ = "oauth_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(MAX_URI_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    # scope -> plain-words description ("" when none), in the order they were given
    scopes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    access_token_ttl: Mapped[int | None] = mapped_column()
    # The confidential client that may introspect its tokens (RFC 7662), if any.
    introspection_client_id: Mapped[str | None] = mapped_column(
        ForeignKey("oauth_client.client_id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


generations.watch(Resource, "resources")
_registered: generations.Cache[tuple[str, ...]] = generations.Cache("resources")
_generation = generations.in_session("resources")


def problem_with(uri: str) -> str | None:
    """Why `uri` cannot name a resource (RFC 8707 §2), or None when it can."""
    if not uri or len(uri) > MAX_URI_LENGTH or any(ch.isspace() for ch in uri):
        return "must be an absolute URI without spaces"
    if "#" in uri:
        return "must not contain a fragment"
    scheme, colon, rest = uri.partition(":")
    if not colon or not scheme or not scheme[0].isalpha() or not rest:
        return "must be an absolute URI"
    if scheme.lower() in ("http", "https") and not rest.startswith("//"):
        return "must be an absolute URI"
    return None


# The registry, used by `idp resources` and the admin page (idp/web/admin.py).


def parse_scope(text: str) -> tuple[str, str]:
    """`scope` or `scope=Plain words` -> (scope, description); `create_resource` checks them."""
    scope, _, description = text.partition("=")
    return scope.strip(), " ".join(description.split())


def parse_lifetime(text: str) -> int | None:
    """An access-token lifetime typed as seconds; empty means none of its own."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise InvalidInput(LIFETIME_RANGE, field="access_token_ttl")
    return int(text)


def create_resource(
    uri: str,
    name: str,
    scopes: dict[str, str],
    access_token_ttl: int | None = None,
    *,
    introspection_client: str | None = None,
    admin: User | None = None,
) -> Resource:
    """Register a resource; `admin` is who did it on the admin page (None from the CLI).
    `introspection_client` is a client_id checked by idp.oauth.introspection.introspector."""
    problem = problem_with(uri)
    if problem:
        raise InvalidInput(f"The resource URI {problem}.", field="uri")
    name = _checked(name, scopes, access_token_ttl)
    taken = ResourceTaken(f"A resource {uri} is already registered.", field="uri")
    if find_resource(uri) is not None:
        raise taken
    resource = Resource(
        uri=uri,
        name=name,
        scopes=scopes,
        access_token_ttl=access_token_ttl,
        introspection_client_id=introspection_client,
    )
    db.session.add(resource)
    try:
        db.session.flush()
    except IntegrityError:  # registered by a parallel request since the check above
        db.session.rollback()
        raise taken from None
    record(
        Event.RESOURCE_CREATED,
        subject=uri,
        name=name,
        scopes=list(scopes),
        introspection_client=introspection_client,
        **_by(admin),
    )
    db.session.commit()
    return resource


def _checked(name: str, scopes: dict[str, str], access_token_ttl: int | None) -> str:
    """The resource's name, tidied, or InvalidInput on what is wrong."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"A resource needs a name of 1 to {MAX_NAME_LENGTH} characters.", field="name"
        )
    if not scopes:
        raise InvalidInput("A resource accepts at least one scope.", field="scope")
    for scope, description in scopes.items():
        if not _valid_scope(scope):
            raise InvalidInput(f"{scope!r} is not a scope token (RFC 6749 §3.3).", field="scope")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidInput(
                f"A scope description has at most {MAX_DESCRIPTION_LENGTH} characters.",
                field="scope",
            )
    if access_token_ttl is not None and not 1 <= access_token_ttl <= MAX_LIFETIME:
        raise InvalidInput(LIFETIME_RANGE, field="access_token_ttl")
    return name


def update_resource(
    resource: Resource,
    name: str,
    scopes: dict[str, str],
    access_token_ttl: int | None,
    *,
    introspection_client: str | None = None,
    admin: User | None = None,
) -> None:
    """Change a resource's name, scopes, lifetime and introspecting client; its URI, the
    audience of tokens already issued, stays."""
    resource.name = _checked(name, scopes, access_token_ttl)
    resource.scopes = scopes
    resource.access_token_ttl = access_token_ttl
    resource.introspection_client_id = introspection_client
    record(
        Event.RESOURCE_UPDATED,
        subject=resource.uri,
        name=resource.name,
        scopes=list(scopes),
        introspection_client=introspection_client,
        **_by(admin),
    )
    db.session.commit()


def list_resources() -> list[Resource]:
    return list(db.session.scalars(select(Resource).order_by(Resource.uri)))


def set_introspection_client(
    resource: Resource, client_id: str | None, *, admin: User | None = None
) -> None:
    """Name the client that may introspect the resource's tokens (None: no client may, but
    the one each token was issued to); `client_id` is checked as for `create_resource`."""
    resource.introspection_client_id = client_id
    record(
        Event.RESOURCE_UPDATED,
        subject=resource.uri,
        introspection_client=client_id,
        **_by(admin),
    )
    db.session.commit()


def delete_resource(uri: str, *, admin: User | None = None) -> bool:
    resource = find_resource(uri)
    if resource is None:
        return False
    db.session.delete(resource)
    record(Event.RESOURCE_DELETED, subject=uri, **_by(admin))
    db.session.commit()
    return True


def _by(admin: User | None) -> dict[str, Any]:
    """Who changed the registry, for the audit row: the admin (kept by email should the
    account go), or nobody for the CLI."""
    return {} if admin is None else {"user_id": admin.id, "admin": admin.email}


def find_resource(uri: str) -> Resource | None:
    """A registered resource, or the built-in management API (idp.oauth.management)."""
    if uri == management.management_uri(app_settings().issuer):
        return management_resource()
    return db.session.scalar(select(Resource).where(Resource.uri == uri))


def management_resource() -> Resource:
    """The management API, built in: never stored, so never listed, changed or deleted."""
    uri = management.management_uri(app_settings().issuer)
    return Resource(uri=uri, name=management.NAME, scopes=dict(management.SCOPES))


def resource_scopes() -> set[str]:
    """Every scope some registered resource accepts."""
    return set(_scopes_of_resources())


def valid_scopes() -> list[str]:
    """The scopes a client may register and ask for, in order: OpenID Connect's, then those
    of the management API and of the registered resources. A resource's scopes stop being
    valid when it is deleted."""
    return list(dict.fromkeys([*SUPPORTED_SCOPES, *management.SCOPES, *_scopes_of_resources()]))


def _scopes_of_resources() -> tuple[str, ...]:
    """The registered resources' scopes, in order: kept until a resource changes anywhere
    (the `resources` change counter, idp.core.generations)."""
    return _registered.get("scopes", _read_scopes, _generation)


def _read_scopes() -> tuple[str, ...]:
    return tuple(dict.fromkeys(scope for r in list_resources() for scope in r.scopes))


def _valid_scope(scope: str) -> bool:
    # RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    allowed = all(ch == "\x21" or "\x23" <= ch <= "\x5b" or "\x5d" <= ch <= "\x7e" for ch in scope)
    return bool(scope) and len(scope) <= MAX_SCOPE_LENGTH and allowed


# The `resource` parameter of a request.


@dataclass
class Target:
    """The resources a request names: registered ones, and unregistered ones when allowed."""

    uris: list[str] = field(default_factory=list)
    registered: list[Resource] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.uris)

    @property
    def audience(self) -> str | list[str] | None:
        """The `aud` of an access token for this target (RFC 8707 §2, RFC 9068 §2.2)."""
        if not self.uris:
            return None
        return self.uris[0] if len(self.uris) == 1 else list(self.uris)

    def cut(self, scope: str) -> str:
        """The scopes an access token for these resources carries: those they accept.

        With no resource, or with an unregistered one, the scope is not cut.
        """
        if not self.uris or len(self.registered) < len(self.uris):
            return scope
        accepted = {s for resource in self.registered for s in resource.scopes}
        return " ".join(s for s in scope.split() if s in accepted)

    def accepts(self, scope: str) -> bool:
        """Whether a named resource accepts the scope from a client not registered for it.
        The management API's scopes go only to clients registered with them."""
        return any(
            scope in resource.scopes and resource.id is not None for resource in self.registered
        )

    def access_token_ttl(self) -> int | None:
        """The shortest lifetime among the resources that set one."""
        lifetimes = [r.access_token_ttl for r in self.registered if r.access_token_ttl]
        return min(lifetimes) if lifetimes else None


def target_of(values: list[str], *, allow_unregistered: bool) -> Target:
    """The resources a request names, or InvalidTargetError."""
    uris = list(dict.fromkeys(values))
    target = Target(uris=uris)
    for uri in uris:
        problem = problem_with(uri)
        if problem:
            raise InvalidTargetError(f"The resource {problem}.")
        resource = find_resource(uri)
        if resource is not None:
            target.registered.append(resource)
        elif not allow_unregistered:
            raise InvalidTargetError(printable(f"The resource {uri} is not known here."))
    return target


def check_scopes(scope: str, client_scope: str, target: Target) -> None:
    """A scope the client is not registered for must be one a named resource accepts."""
    if len(target.registered) < len(target.uris):
        return  # an unregistered resource, allowed by the operator: its scopes are unknown
    extra = [s for s in scope.split() if s not in client_scope.split() and not target.accepts(s)]
    if extra:
        raise InvalidScopeError(
            printable(f"No requested resource accepts the scope {' '.join(extra)}.")
        )


def narrowed(values: list[str], authorized: list[str]) -> list[str]:
    """RFC 8707 §2.2: a token request may name a subset of the authorized resources, never
    another one; naming none keeps them all."""
    asked = list(dict.fromkeys(values))
    for uri in asked:
        problem = problem_with(uri)
        if problem:
            raise InvalidTargetError(f"The resource {problem}.")
        if uri not in authorized:
            raise InvalidTargetError(
                printable(f"The resource {uri} was not authorized for this grant.")
            )
    return asked or list(authorized)


def registered_target(uris: list[str]) -> Target:
    """A target of resources that were checked when they were authorized."""
    return Target(uris=list(uris), registered=[r for u in uris if (r := find_resource(u))])
