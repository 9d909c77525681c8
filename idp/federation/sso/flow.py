"""A SAML sign-in through an organization's connection, from start to account (an OpenID
Connect connection's is `oidc_flow`, which keeps its request the same way).

`start()` builds the AuthnRequest (signed with the connection's SP key when the connection
says `sign_requests`) and remembers its ID for this browser only (the store, under the digest
of a random token the web layer keeps in a cookie), for `REQUEST_TTL` seconds.
`finish()` takes that request back (one use: it is deleted whatever follows), checks the
Response (`idp.federation.saml.response`), uses the assertion's ID once, and returns the
account. Every refusal is audited with its reason before it is raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from idp.core.security import digest, new_token
from idp.core.store import StoreUnavailable, app_store
from idp.db import db
from idp.federation.asserted import Asserted
from idp.federation.saml.metadata import sp_metadata
from idp.federation.saml.requests import authn_request
from idp.federation.saml.response import Checked, Expected, SamlRefused, check, decode
from idp.federation.sso import connections, sign_in
from idp.federation.sso.models import SsoConnection
from idp.federation.sso.sign_in import SsoRefused
from idp.identity.models import User
from idp.settings import app_settings

REQUEST_TTL = 600


@dataclass(frozen=True)
class Started:
    browser_token: str
    url: str


@dataclass(frozen=True)
class Finished:
    user: User
    connection: SsoConnection
    next: str


def sp_entity_id(connection_id: int) -> str:
    return f"{app_settings().issuer}/sso/saml/{connection_id}/metadata"


def acs_url(connection_id: int) -> str:
    return f"{app_settings().issuer}/sso/saml/{connection_id}/acs"


def metadata(connection: SsoConnection) -> bytes:
    certificate = connection.config.get("sp_certificate")
    signs = connections.signs_requests(connection)
    return sp_metadata(
        sp_entity_id(connection.id), acs_url(connection.id), certificate, signs_requests=signs
    )


def find(connection_id: int, kind: str | None = None) -> SsoConnection | None:
    """The enabled connection (of `kind`, when given), or None."""
    row = db.session.get(SsoConnection, connection_id)
    usable = row is not None and row.enabled and kind in (None, row.kind)
    return row if usable else None


def start(connection: SsoConnection, next_url: str, *, reauthenticate: bool = False) -> Started:
    """The IdP URL to send the browser to; raises `StoreUnavailable`. `reauthenticate`: the
    IdP must check the person again (ForceAuthn). Raises `SsoRefused` when the connection
    should sign its request and has no key to."""
    relay = new_token()[:32]
    request = authn_request(
        sp_entity_id=sp_entity_id(connection.id),
        acs_url=acs_url(connection.id),
        sso_url=connection.config["sso_url"],
        relay_state=relay,
        force_authn=reauthenticate,
        signing_key=_signing_key(connection),
    )
    value = {"connection": connection.id, "request_id": request.id, "next": next_url}
    return Started(remember(value), request.url)


def _signing_key(connection: SsoConnection) -> bytes | None:
    """The SP private key (PEM) that signs the connection's requests; None if it does not."""
    if not connections.signs_requests(connection):
        return None
    key = connections.sp_private_key(connection)
    if key is None:  # every SAML connection is given a key when saved; never sent unsigned
        raise SsoRefused("no_sp_key", "This single sign-on has no key to sign its request.")
    return key.encode()


def finish(connection_id: int, saml_response: str, browser_token: str | None) -> Finished:
    """The account the Response signs in; `SsoRefused` (audited) otherwise."""
    connection = find(connection_id, "saml")
    if connection is None:
        raise sign_in.refuse(None, "unknown_connection", "This single sign-on is not available.")
    pending = take(browser_token)
    request_id = pending.get("request_id") if pending.get("connection") == connection.id else None
    request_id = request_id if isinstance(request_id, str) else None
    try:
        checked = check(decode(saml_response), _expected(connection, request_id))
        user = _account(connection, checked)
    except (SamlRefused, SsoRefused) as error:
        raise sign_in.refuse(connection, error.reason, error.message) from None
    return Finished(user, connection, str(pending.get("next") or ""))


def _account(connection: SsoConnection, checked: Checked) -> User:
    """Use the assertion once and find, link or create its account. A first sign-in that
    races another one for the same person (two tabs) is tried once more, and then finds the
    account the other made, as if the two had come one after the other."""
    for attempt in range(2):
        # Kept while the assertion could still be accepted: its expiry plus the clock skew.
        kept_until = checked.expires_at + timedelta(seconds=app_settings().sso_clock_skew)
        sign_in.use_assertion_once(checked.issuer, checked.assertion_id, kept_until)
        try:
            return sign_in.account_for(connection, _asserted(connection, checked))
        except sign_in.Conflict:
            if attempt:
                break
    raise SsoRefused("conflict", "This sign-in is already being completed. Try again.")


def _expected(connection: SsoConnection, request_id: str | None) -> Expected:
    config = connection.config
    return Expected(
        idp_entity_id=config["idp_entity_id"],
        certificates=list(config["certificates"]),
        sp_entity_id=sp_entity_id(connection.id),
        acs_url=acs_url(connection.id),
        request_id=request_id,
        allow_idp_initiated=connection.allow_idp_initiated,
        skew=app_settings().sso_clock_skew,
        decryption_key=connections.sp_private_key(connection),
    )


def _asserted(connection: SsoConnection, checked: Checked) -> Asserted:
    attributes = checked.attributes
    return Asserted(
        source=sign_in.source_of(connection),
        subject=checked.subject,
        email=sign_in.asserted_email(attributes, checked.subject, checked.name_id_format),
        email_verified=True,
        name=sign_in.asserted_name(attributes),
        attributes=attributes,
        session_index=checked.session_index,
    )


def remember(value: dict[str, object]) -> str:
    """Keep what a sign-in started with, for this browser only; the token for its cookie.
    Raises `StoreUnavailable`."""
    token = new_token()
    app_store().set(_key(token), json.dumps(value).encode(), REQUEST_TTL)
    return token


def take(browser_token: str | None) -> dict[str, object]:
    """What `remember` kept for this browser, once ({} when nothing, or used)."""
    if not browser_token:
        return {}
    try:
        store = app_store()
        raw = store.get(_key(browser_token))
        store.delete(_key(browser_token))
    except StoreUnavailable:
        return {}
    return dict(json.loads(raw)) if raw else {}


def _key(token: str) -> str:
    return "sso-request:" + digest(token)
