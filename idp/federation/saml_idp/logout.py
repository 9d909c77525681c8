"""Single logout (SAML core §3.7; profiles §4.4) in both directions.

SP-initiated: a LogoutRequest from a known SP, signed when it has certificates, ends the
session its SessionIndex names (or the browser's, when it names none) and is answered with a
LogoutResponse at the SP's registered SLO endpoint. IdP-initiated: when a person signs out
here, each SP that got an assertion in that session and has an SLO endpoint is sent a
LogoutRequest in turn, front-channel (§4.4.3.1): the browser visits each and comes back with
its LogoutResponse, which sends it on to the next (a "walk" kept in the store).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from idp.core.audit import Event, record
from idp.core.security import new_token
from idp.core.store import StoreUnavailable, app_store
from idp.db import db
from idp.federation.saml.redirect import to_redirect
from idp.federation.saml_idp import bindings, participants, registry, responses
from idp.federation.saml_idp.models import SamlServiceProvider
from idp.federation.saml_idp.requests import (
    LogoutMessage,
    Refused,
    logout_message,
    logout_request,
)
from idp.federation.saml_idp.sso import ErrorPage, PostForm, credentials
from idp.federation.saml_idp.xml import REDIRECT
from idp.identity.models import User
from idp.identity.sessions import app_sessions
from idp.settings import app_settings

WALK_TTL = 600
WALK_PATH = "/saml/logout/continue/"


@dataclass(frozen=True)
class Redirect:
    location: str


@dataclass(frozen=True)
class SignedOut:
    """The walk is over: show the signed-out page."""


@dataclass(frozen=True)
class Ended:
    """An SP-initiated logout's answer, and the session it ended (None if none was found)."""

    answer: Redirect | PostForm | ErrorPage
    session_id: int | None


LogoutOutcome = Redirect | PostForm | ErrorPage | SignedOut


def from_sp(received: bindings.Received, current: participants.IndexedSession | None) -> Ended:
    try:
        message = logout_request(received, app_store(), datetime.now(UTC))
    except StoreUnavailable:
        return Ended(ErrorPage(503, "Signing out is briefly unavailable. Try again."), None)
    except Refused as refusal:
        record(Event.SAML_REQUEST_REFUSED, subject=_issuer(refusal), reason=refusal.reason)
        db.session.commit()
        return Ended(ErrorPage(400, refusal.message), None)
    ended, others = _end_session(message, current)
    provider = message.provider
    final: Redirect | PostForm | None = None
    if provider.slo_url:
        xml = responses.logout_response(credentials(), provider.slo_url, message.message_id, True)
        final = _send(provider, "SAMLResponse", xml, message.relay_state)
    # Profiles §4.4.3.2: the other SPs of the session hear of it before the requester's answer.
    token = _new_walk(others, final)
    if token is not None:
        return Ended(Redirect(walk_url(token)), ended)
    return Ended(final or ErrorPage(200, "You are signed out."), ended)


def start_walk(session_id: int, then: str | None = None) -> str | None:
    """After our own sign-out: the walk's token, or None when no SP needs telling. The walk
    ends at `then` (an RP's post-logout URI, already checked), else our signed-out page.
    While the store is down, which SPs the session reached is unknown: none is told, and the
    sign-out here goes on (it must never fail for that)."""
    final = Redirect(then) if then else None
    try:
        return _new_walk(participants.forget(app_store(), session_id), final)
    except StoreUnavailable:
        return None


def walk_url(token: str) -> str:
    return app_settings().issuer.rstrip("/") + WALK_PATH + token


def _new_walk(
    gone: list[participants.Participant], final: Redirect | PostForm | None
) -> str | None:
    """A walk through the SPs of `gone` that have an SLO endpoint, ending at `final` (or our
    signed-out page); None when there is no SP to tell."""
    left = [asdict(p) for p in gone if _slo_of(p.entity_id) is not None]
    if not left:
        return None
    walk = {"left": left, "waiting": None, "final": _dump(final)}
    token = new_token(16)
    app_store().set("saml:walk:" + token, json.dumps(walk).encode(), WALK_TTL)
    return token


def _dump(final: Redirect | PostForm | None) -> dict[str, Any] | None:
    if isinstance(final, Redirect):
        return {"location": final.location}
    if isinstance(final, PostForm):
        return {"action": final.action, "fields": final.fields}
    return None


def _load(final: dict[str, Any] | None) -> LogoutOutcome:
    if final is None:
        return SignedOut()
    if "location" in final:
        return Redirect(final["location"])
    return PostForm(final["action"], [(k, v) for k, v in final["fields"]])


def walk_on(token: str) -> LogoutOutcome:
    """Send the next LogoutRequest of the walk; SignedOut when every SP was told."""
    store = app_store()
    raw = store.get("saml:walk:" + token)
    walk = json.loads(raw) if raw else {"left": []}
    while walk["left"]:
        who = participants.Participant(**walk["left"].pop(0))
        provider = _slo_of(who.entity_id)
        if provider is None or provider.slo_url is None:
            continue
        message_id, xml = responses.logout_request(
            credentials(), provider.slo_url, who.name_id, who.name_format, who.session_index
        )
        walk["waiting"] = {"sp": provider.entity_id, "id": message_id}
        store.set("saml:walk:" + token, json.dumps(walk).encode(), WALK_TTL)
        return _send(provider, "SAMLRequest", xml, token)
    store.delete("saml:walk:" + token)
    return _load(walk.get("final"))


def answer_from_sp(received: bindings.Received) -> LogoutOutcome:
    """An SP's LogoutResponse during a walk: check it answers what we sent, then go on."""
    try:
        message = logout_message(received, "LogoutResponse")
    except Refused as refusal:
        record(Event.SAML_REQUEST_REFUSED, subject=_issuer(refusal), reason=refusal.reason)
        db.session.commit()
        return ErrorPage(400, refusal.message)
    token = message.relay_state or ""
    raw = app_store().get("saml:walk:" + token)
    waiting = json.loads(raw)["waiting"] if raw else None
    expected = {"sp": message.provider.entity_id, "id": message.in_response_to}
    if waiting != expected:
        return ErrorPage(400, "This logout answer does not match a logout in progress.")
    record(
        Event.SAML_LOGOUT,
        subject=message.provider.entity_id,
        initiated_by="idp",
        success=message.success,
    )
    db.session.commit()
    return walk_on(token)


def _end_session(
    message: LogoutMessage, current: participants.IndexedSession | None
) -> tuple[int | None, list[participants.Participant]]:
    """End the session the request names (by SessionIndex, else the browser's), if that
    session's assertion for this SP carried the same NameID: its id, or None, and the other
    SPs that got an assertion in it."""
    store = app_store()
    entity_id = message.provider.entity_id
    named = [participants.session_of(store, index) for index in message.session_indexes]
    target = next((s for s in named if s is not None and s.entity_id == entity_id), None)
    if target is None and not message.session_indexes and current is not None:
        target = participants.IndexedSession(current.session_id, current.user_id, entity_id)
    if target is None or not any(
        p.entity_id == entity_id and p.name_id == message.name_id
        for p in participants.of(store, target.session_id)
    ):
        return None, []
    user = db.session.get(User, target.user_id)
    ended = user is not None and app_sessions().revoke(user, target.session_id, reason="saml")
    gone = participants.forget(store, target.session_id)
    record(
        Event.SAML_LOGOUT,
        user_id=target.user_id,
        subject=entity_id,
        initiated_by="sp",
        session_id=target.session_id,
    )
    db.session.commit()
    others = [p for p in gone if p.entity_id != entity_id]
    return (target.session_id if ended else None), others


def _send(
    provider: SamlServiceProvider, field: str, xml: bytes, relay_state: str | None
) -> Redirect | PostForm:
    assert provider.slo_url is not None
    signer = credentials()
    if provider.slo_binding == REDIRECT:
        url = to_redirect(provider.slo_url, field, xml, relay_state, signer.key_pem)
        return Redirect(url)
    signed = responses.signed_post(xml, signer)
    fields = [(field, bindings.post_value(signed))]
    if relay_state:
        fields.append(("RelayState", relay_state))
    return PostForm(provider.slo_url, fields)


def _slo_of(entity_id: str) -> SamlServiceProvider | None:
    provider = registry.find(entity_id)
    return provider if provider is not None and provider.enabled and provider.slo_url else None


def _issuer(refusal: Refused) -> str | None:
    return refusal.provider.entity_id if refusal.provider else None
