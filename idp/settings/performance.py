"""Settings of the hot protocol paths: what access tokens are signed with, and whether
changes are heard by database notifications.

`Settings` (idp.settings) inherits these fields; the README's table lists them with the rest.
"""

from __future__ import annotations

import dataclasses

from idp.settings import parse

# The algorithms the provider signs with (idp.keys implements each); defined here, the lowest
# layer, so the settings and every list of algorithms read the same tuple.
SIGNING_ALGORITHMS = ("RS256", "ES256", "Ed25519")  # RFC 9864: not the old "EdDSA"


@dataclasses.dataclass(frozen=True)
class PerformanceSettings:
    access_token_alg: str = parse.setting(
        "IDP_ACCESS_TOKEN_ALG",
        parse.choice("", *SIGNING_ALGORITHMS),
        "Algorithm of access tokens, when not IDP_SIGNING_ALG's (ID tokens keep that one): "
        "ES256 signs about 10 times faster than RS256; both are published in the JWKS.",
        default="",
    )
    database_notifications: bool = parse.setting(
        "IDP_DATABASE_NOTIFICATIONS",
        parse.boolean,
        "PostgreSQL: each process hears changes to clients, resources, token families and "
        "users by LISTEN/NOTIFY and keeps what it read, instead of reading on every request; "
        "turn off behind a connection pooler that does not keep LISTEN (PgBouncer in "
        "transaction mode).",
        default=True,
    )
