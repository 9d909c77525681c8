"""Single sign-on (SAML profiles §4.1): an AuthnRequest, or an IdP-initiated start, becomes a
signed Response posted to the SP's registered consumer URL.

The flow never renders a page: it returns an outcome for idp.web.saml_idp. When nobody is
signed in, or ForceAuthn (core §3.4.1) wants a sign-in newer than the request, the request is
saved in the store under a random uid and the person goes through the normal sign-in, which
comes back to `resume`. IsPassive without a usable session answers NoPassive (§3.2.2.2).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from idp.core.audit import Event, record
from idp.core.security import new_token
from idp.core.store import app_store
from idp.db import db
from idp.federation.saml_idp import (
    attributes,
    bindings,
    metadata,
    participants,
    registry,
    responses,
)
from idp.federation.saml_idp.models import SamlServiceProvider
from idp.federation.saml_idp.requests import AuthnRequest, Refused, authn_request
from idp.federation.saml_idp.xml import NAME_ID_FORMATS
from idp.identity.models import User
from idp.identity.sessions import ActiveSession
from idp.keys.saml import app_saml_credentials
from idp.settings import app_settings

PENDING_TTL = 1800  # seconds a saved request waits for the person to sign in


@dataclass(frozen=True)
class Login:
    user: User
    session: ActiveSession


@dataclass(frozen=True)
class PostForm:
    """Post `fields` to `action` from the browser (bindings §3.5)."""

    action: str
    fields: list[tuple[str, str]]


@dataclass(frozen=True)
class SignIn:
    """Sign in, then come back to the request saved under `uid`; `defer`: first come back
    by a same-site GET, which carries the session cookie a cross-site POST did not."""

    uid: str
    defer: bool = False


@dataclass(frozen=True)
class ErrorPage:
    status: int
    message: str


Outcome = PostForm | SignIn | ErrorPage


@dataclass
class Pending:
    """A request waiting for a sign-in; `request_id` None for IdP-initiated."""

    provider_id: int
    acs: str
    request_id: str | None = None
    relay_state: str | None = None
    force_authn: bool = False
    is_passive: bool = False
    created_at: float = field(default_factory=time.time)
    uid: str = field(default_factory=lambda: new_token(16))


def credentials() -> responses.Credentials:
    signer = app_saml_credentials().signer()
    issuer = metadata.entity_id(app_settings().issuer)
    return responses.Credentials(issuer, signer.private_key_pem, signer.certificate_pem)


def receive(received: bindings.Received, login: Login | None, *, defer: bool = False) -> Outcome:
    """An AuthnRequest over either binding; `defer` when the request could not carry the
    session cookie (see `SignIn`)."""
    sso_url = app_settings().issuer.rstrip("/") + metadata.PATHS["sso"]
    try:
        checked: AuthnRequest = authn_request(received, sso_url, app_store(), datetime.now(UTC))
    except Refused as refusal:
        return refuse(refusal)
    pending = Pending(
        provider_id=checked.provider_id,
        acs=checked.acs,
        request_id=checked.request_id,
        relay_state=checked.relay_state,
        force_authn=checked.force_authn,
        is_passive=checked.is_passive,
    )
    if defer:
        return _save(pending, defer=True)
    return _go_on(pending, login)


def initiate(entity_id: str, relay_state: str | None, login: Login | None) -> Outcome:
    """IdP-initiated sign-in (profiles §4.1.5), for SPs that allow it."""
    provider = registry.find(entity_id) if entity_id else None
    if provider is None or not provider.enabled or not provider.allow_idp_initiated:
        return refuse(
            Refused(
                "This service provider does not accept sign-ins started here.",
                reason="idp_initiated_not_allowed",
                provider=provider,
            ),
            issuer=entity_id,
        )
    endpoint = provider.acs()
    assert endpoint is not None  # registration keeps at least one
    pending = Pending(provider.id, str(endpoint["location"]), relay_state=relay_state)
    return _go_on(pending, login)


def resume(uid: str, login: Login | None) -> Outcome:
    raw = app_store().get("saml:pending:" + uid)
    if raw is None:
        return ErrorPage(400, "This sign-in request has expired. Start again from the app.")
    return _go_on(Pending(**json.loads(raw)), login)


def refuse(refusal: Refused, issuer: str | None = None) -> Outcome:
    """Audit the refusal; answer the SP's registered ACS when it may be trusted, else a page."""
    subject = refusal.provider.entity_id if refusal.provider else issuer
    record(Event.SAML_REQUEST_REFUSED, subject=subject, reason=refusal.reason)
    db.session.commit()
    if refusal.acs is None:
        return ErrorPage(400, refusal.message)
    xml = responses.failure(
        credentials(),
        refusal.acs,
        refusal.request_id,
        refusal.codes,
        datetime.now(UTC),
        refusal.message,
    )
    return _post(refusal.acs, xml, refusal.relay_state)


def _go_on(pending: Pending, login: Login | None) -> Outcome:
    provider = db.session.get(SamlServiceProvider, pending.provider_id)
    if provider is None or not provider.enabled:
        return refuse(Refused("This service provider is not registered here.", reason="unknown_sp"))
    usable = login is not None and (
        not pending.force_authn or login.session.authenticated_at.timestamp() >= pending.created_at
    )
    if usable and login is not None:
        app_store().delete("saml:pending:" + pending.uid)
        return _issue(provider, pending, login)
    if pending.is_passive:
        return refuse(_no_passive(provider, pending))
    return _save(pending)


def _save(pending: Pending, *, defer: bool = False) -> SignIn:
    body = json.dumps(asdict(pending)).encode()
    app_store().set("saml:pending:" + pending.uid, body, PENDING_TTL)
    return SignIn(pending.uid, defer)


def _no_passive(provider: SamlServiceProvider, pending: Pending) -> Refused:
    return Refused(
        "The person is not signed in, and the request forbids asking them (IsPassive).",
        reason="no_passive",
        provider=provider,
        acs=pending.acs,
        request_id=pending.request_id,
        codes=("Responder", "NoPassive"),
        relay_state=pending.relay_state,
    )


def _issue(provider: SamlServiceProvider, pending: Pending, login: Login) -> Outcome:
    settings = app_settings()
    name_format = NAME_ID_FORMATS[provider.name_id_format]
    statement = responses.Statement(
        audience=provider.entity_id,
        recipient=pending.acs,
        in_response_to=pending.request_id,
        name_id=attributes.name_id(login.user, provider, settings.secret_key),
        name_id_format=name_format,
        session_index=participants.new_session_index(),
        authn_instant=login.session.authenticated_at,
        methods=login.session.amr,
        attributes=attributes.released(login.user, provider),
    )
    xml = responses.success(credentials(), statement, datetime.now(UTC))
    who = participants.Participant(
        provider.entity_id, statement.name_id, name_format, statement.session_index
    )
    ttl = max(settings.remember_ttl, settings.session_ttl)
    participants.join(app_store(), login.session.id, login.user.id, who, ttl)
    record(
        Event.SAML_ASSERTION_ISSUED,
        user_id=login.user.id,
        subject=provider.entity_id,
        name_id_format=provider.name_id_format,
        idp_initiated=pending.request_id is None,
    )
    db.session.commit()
    return _post(pending.acs, xml, pending.relay_state)


def _post(action: str, xml: bytes, relay_state: str | None) -> PostForm:
    fields = [("SAMLResponse", bindings.post_value(xml))]
    if relay_state:
        fields.append(("RelayState", relay_state))
    return PostForm(action, fields)
