"""An OpenID Connect sign-in through an organization's connection, from start to account.

The protocol is the generic relying party's (`idp.federation.upstream.oidc`: discovery,
PKCE S256, `state`, `nonce`, the code exchange and every ID token check); this module keeps
its `Started` for this browser only, as the SAML flow keeps its request (`flow.remember`,
one use), and hands the `Asserted` (source `sso:<connection id>`) to the same account and
membership rules as SAML (`sign_in.account_for`). Every refusal is audited with its reason
before it is raised.

What the organization registers at its IdP: the redirect URI `redirect_uri(connection id)`.
"""

from __future__ import annotations

from collections.abc import Mapping

from idp.core.store import StoreUnavailable
from idp.federation.asserted import Asserted
from idp.federation.sso import connections, flow, sign_in
from idp.federation.sso.flow import Finished
from idp.federation.sso.models import SsoConnection
from idp.federation.sso.sign_in import SsoRefused
from idp.federation.upstream.errors import UpstreamError
from idp.federation.upstream.oidc import OidcRelyingParty, RelyingPartyConfig, Started
from idp.federation.upstream.transport import Transport
from idp.identity.models import User
from idp.settings import app_settings

EXPIRED = (
    "This sign-in is not valid any more (it was used, has expired, or was started in "
    "another browser). Start again."
)


def redirect_uri(connection_id: int) -> str:
    """The redirect URI to register at the connection's IdP (OIDC Core §3.1.2.1)."""
    return f"{app_settings().issuer}/sso/oidc/{connection_id}/callback"


def relying_party(connection: SsoConnection) -> OidcRelyingParty:
    config = RelyingPartyConfig(
        source=sign_in.source_of(connection),
        issuer=connection.config["issuer"],
        client_id=connection.config["client_id"],
        client_secret=connections.client_secret(connection),
        scopes=tuple(connection.config.get("scopes") or connections.DEFAULT_SCOPES),
    )
    return OidcRelyingParty(config, Transport.from_settings(app_settings()))


def start(
    connection: SsoConnection,
    next_url: str,
    login_hint: str | None,
    *,
    reauthenticate: bool = False,
) -> flow.Started:
    """The IdP's authorization URL and the browser token; raises `StoreUnavailable` and
    `SsoRefused` (audited) when the IdP cannot be reached or is misconfigured."""
    try:
        started = relying_party(connection).start(
            redirect_uri(connection.id),
            login_hint=login_hint or None,
            reauthenticate=reauthenticate,
        )
    except UpstreamError as error:
        raise sign_in.refuse(connection, error.reason, error.message, error.detail) from None
    value = {"connection": connection.id, "oidc": started.to_dict(), "next": next_url}
    return flow.Started(flow.remember(value), started.url)


def finish(connection_id: int, params: Mapping[str, str], browser_token: str | None) -> Finished:
    """The account the IdP's answer signs in; `SsoRefused` (audited) otherwise."""
    connection = flow.find(connection_id, "oidc")
    if connection is None:
        raise sign_in.refuse(None, "unknown_connection", "This single sign-on is not available.")
    try:
        pending = flow.take(browser_token)
    except StoreUnavailable:
        pending = {}
    started = _started(connection, pending)
    try:
        if started is None:
            raise UpstreamError("bad_state", EXPIRED)
        asserted = relying_party(connection).finish(started, params).asserted
        user = _account(connection, asserted)
    except UpstreamError as error:
        raise sign_in.refuse(connection, error.reason, error.message, error.detail) from None
    except SsoRefused as error:
        raise sign_in.refuse(connection, error.reason, error.message) from None
    return Finished(user, connection, str(pending.get("next") or ""))


def _started(connection: SsoConnection, pending: Mapping[str, object]) -> Started | None:
    """The `Started` this browser kept for this connection, if any."""
    kept = pending.get("oidc")
    if pending.get("connection") != connection.id or not isinstance(kept, dict):
        return None
    return Started.from_dict(kept)


def _account(connection: SsoConnection, asserted: Asserted) -> User:
    """Find, link or create the account; a first sign-in racing another for the same person
    is tried once more and then finds the account the other made."""
    for attempt in range(2):
        try:
            return sign_in.account_for(connection, asserted)
        except sign_in.Conflict:
            if attempt:
                break
    raise SsoRefused("conflict", "This sign-in is already being completed. Try again.")
