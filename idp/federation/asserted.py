"""What an upstream identity provider said about a person, after every check.

OIDC providers, OAuth 2 providers (GitHub) and SAML connections all end here, so that finding,
creating and linking accounts is written once, whatever the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Asserted:
    """One upstream's statement about one person.

    `source` names the upstream in `FederatedIdentity.source` (an upstream provider's slug, or
    `sso:<connection id>`); `subject` is its stable identifier for the person (the ID token's
    `sub`, a GitHub user id, a persistent SAML NameID). `email_verified` is true only when the
    upstream asserts it. `attributes` holds every other claim or SAML attribute, for mapping
    (groups, roles, names).
    """

    source: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    session_index: str | None = None
