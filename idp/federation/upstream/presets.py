"""The kinds of upstream provider, each a small class, in one registry.

A preset knows its provider's issuer (or how to build it), its default scopes and which
client (`OidcRelyingParty` or `GitHubClient`) speaks its protocol; the operator gives the
client id and secret. `oidc` is any OpenID Connect provider, by issuer or discovery URL.
"""

from __future__ import annotations

import re
from typing import ClassVar, Protocol

from idp.errors import InvalidInput
from idp.federation.upstream.github import GITHUB, GitHubClient
from idp.federation.upstream.oidc import (
    Finished,
    OidcRelyingParty,
    RelyingPartyConfig,
    Started,
)
from idp.federation.upstream.transport import Transport

TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$")


class Upstream(Protocol):
    """What the sign-in flow needs of any upstream client."""

    def start(
        self, redirect_uri: str, *, login_hint: str | None = None, reauthenticate: bool = False
    ) -> Started: ...

    def finish(self, started: Started, params: dict[str, str]) -> Finished: ...


class Preset:
    """A generic OpenID Connect provider: the operator gives its issuer."""

    kind: ClassVar[str] = "oidc"
    label: ClassVar[str] = "OpenID Connect provider"
    default_issuer: ClassVar[str | None] = None
    default_scopes: ClassVar[tuple[str, ...]] = ("openid", "email", "profile")
    tenant_issuer: ClassVar[bool] = False
    auth_method: ClassVar[str] = "client_secret_basic"

    def issuer(self, configured: str | None) -> str:
        issuer = (configured or "").strip() or self.default_issuer
        if not issuer:
            raise InvalidInput("An OpenID Connect provider needs its issuer URL.", field="issuer")
        return issuer

    def client(self, config: RelyingPartyConfig, transport: Transport) -> Upstream:
        return OidcRelyingParty(config, transport)


class Google(Preset):
    kind = "google"
    label = "Google"
    default_issuer = "https://accounts.google.com"


class Microsoft(Preset):
    """Microsoft Entra ID (v2.0 endpoints). The issuer field holds the tenant: `common`,
    `organizations`, `consumers` or a tenant id; multi-tenant issuers name `{tenantid}`, and
    each ID token's issuer is checked against its own `tid`."""

    kind = "microsoft"
    label = "Microsoft"
    tenant_issuer = True

    def issuer(self, configured: str | None) -> str:
        tenant = (configured or "").strip() or "common"
        if tenant.startswith(("https://", "http://")):
            return tenant
        if not TENANT_NAME.match(tenant):
            raise InvalidInput(
                "The Microsoft tenant is common, organizations, consumers, a tenant ID or a "
                "domain.",
                field="issuer",
            )
        return f"https://login.microsoftonline.com/{tenant}/v2.0"


class GitLab(Preset):
    """gitlab.com, or a self-managed GitLab given by its URL."""

    kind = "gitlab"
    label = "GitLab"
    default_issuer = "https://gitlab.com"
    default_scopes = ("openid", "email", "profile")


class GitHub(Preset):
    """github.com, or a GitHub Enterprise Server given by its URL; OAuth 2 only."""

    kind = "github"
    label = "GitHub"
    default_issuer = GITHUB
    default_scopes = ("read:user", "user:email")
    auth_method = "client_secret_post"  # the documented way: client_id and client_secret

    def client(self, config: RelyingPartyConfig, transport: Transport) -> Upstream:
        return GitHubClient(config, transport)


REGISTRY: dict[str, Preset] = {
    p.kind: p for p in (Preset(), Google(), Microsoft(), GitLab(), GitHub())
}
KINDS = list(REGISTRY)


def preset(kind: str) -> Preset:
    found = REGISTRY.get(kind)
    if found is None:
        raise InvalidInput(f"The kind must be one of: {', '.join(KINDS)}.", field="kind")
    return found
