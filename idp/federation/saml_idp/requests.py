"""Checking what service providers send: AuthnRequest (SAML core §3.4.1), LogoutRequest
(§3.7.1) and LogoutResponse (§3.7.2), each as an ordered list of small checks.

A failed check raises `Refused` with a public message and an internal reason for the audit
log. Only once the issuer is a known, enabled SP, the signature holds and the consumer URL is
one it registered may a refusal be answered with an error Response to that URL (§3.2.2.2);
before that the person gets an error page and nothing leaves for another site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from idp.core.store import Store
from idp.errors import IdpError
from idp.federation.saml_idp import bindings, registry, signing
from idp.federation.saml_idp.models import SamlServiceProvider
from idp.federation.saml_idp.xml import NAME_ID_FORMATS, NS, POST, SAMLP, BadXml, parse, text
from idp.federation.xml_libraries import etree

MAX_AGE = timedelta(minutes=5)  # how old an IssueInstant may be
SKEW = timedelta(seconds=60)  # how far ahead a sender's clock may run
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"


class Refused(IdpError):
    """A refused SAML message. With `acs`, the refusal goes back to that registered URL as an
    error Response with `codes` (top level, second level)."""

    code = "saml_refused"

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        provider: SamlServiceProvider | None = None,
        acs: str | None = None,
        request_id: str | None = None,
        codes: tuple[str, str | None] = ("Requester", None),
        relay_state: str | None = None,
    ) -> None:
        super().__init__(message, detail=reason)
        self.reason = reason
        self.provider = provider
        self.acs = acs
        self.request_id = request_id
        self.codes = codes
        self.relay_state = relay_state


Refuse = Callable[[str, str, str | None], Refused]


@dataclass(frozen=True)
class AuthnRequest:
    provider_id: int
    entity_id: str
    request_id: str
    acs: str
    force_authn: bool
    is_passive: bool
    relay_state: str | None


@dataclass(frozen=True)
class LogoutMessage:
    """A LogoutRequest's or LogoutResponse's facts."""

    provider: SamlServiceProvider
    message_id: str
    in_response_to: str | None
    name_id: str | None
    session_indexes: tuple[str, ...]
    success: bool
    relay_state: str | None


def authn_request(
    received: bindings.Received, sso_url: str, store: Store, now: datetime
) -> AuthnRequest:
    root, provider = _trusted(received, "AuthnRequest", require_signed=None)
    request_id = str(root.get("ID"))
    acs = _consumer(root, provider)
    refuse = _refuser(provider, acs, request_id, received.relay_state)
    if root.get("ProtocolBinding") not in (None, POST):
        raise refuse("Only the HTTP-POST binding is supported.", "binding", "UnsupportedBinding")
    destination = root.get("Destination")
    if destination is not None and destination != sso_url:
        raise refuse("The request was sent to another destination.", "destination", None)
    _check_fresh(root, now, refuse)
    _check_name_id_policy(root, provider, refuse)
    if not store.add(f"saml:request:{provider.id}:{request_id}", b"1", int(MAX_AGE.seconds) * 2):
        raise refuse("This request was already used.", "replayed", "RequestDenied")
    return AuthnRequest(
        provider_id=provider.id,
        entity_id=provider.entity_id,
        request_id=request_id,
        acs=acs,
        force_authn=root.get("ForceAuthn") in ("true", "1"),
        is_passive=root.get("IsPassive") in ("true", "1"),
        relay_state=received.relay_state,
    )


def logout_request(received: bindings.Received, store: Store, now: datetime) -> LogoutMessage:
    """A LogoutRequest (core §3.7.1) from a known SP: signed if it has certificates, issued
    within `MAX_AGE`, before its `NotOnOrAfter`, and used once."""
    message = logout_message(received, "LogoutRequest", now=now)
    key = f"saml:logout:{message.provider.id}:{message.message_id}"
    if not store.add(key, b"1", int(MAX_AGE.seconds) * 2):
        raise Refused(
            "This logout request was already used.", reason="replayed", provider=message.provider
        )
    return message


def logout_message(
    received: bindings.Received, kind: str, *, now: datetime | None = None
) -> LogoutMessage:
    """A LogoutRequest or LogoutResponse from a known SP, signed if it has certificates;
    with `now`, also checked for its IssueInstant and NotOnOrAfter."""
    root, provider = _trusted(received, kind, require_signed=True)
    if now is not None:
        _check_logout_times(root, provider, now)
    status = root.find("samlp:Status/samlp:StatusCode", NS)
    return LogoutMessage(
        provider=provider,
        message_id=str(root.get("ID")),
        in_response_to=root.get("InResponseTo"),
        name_id=text(root, "saml:NameID"),
        session_indexes=tuple(
            (e.text or "").strip() for e in root.findall("samlp:SessionIndex", NS) if e.text
        ),
        success=status is not None and status.get("Value", "").endswith(":Success"),
        relay_state=received.relay_state,
    )


def _trusted(
    received: bindings.Received, kind: str, *, require_signed: bool | None
) -> tuple[etree._Element, SamlServiceProvider]:
    """The message's root and its SP, after the shape, issuer and signature checks.
    `require_signed`: True when the SP has certificates; None: as its metadata asks."""
    try:
        root = parse(received.xml)
    except BadXml as error:
        raise Refused(error.message, reason="malformed") from None
    if root.tag != f"{{{SAMLP}}}{kind}" or root.get("Version") != "2.0" or not root.get("ID"):
        raise Refused(f"This is not a SAML 2.0 {kind}.", reason="malformed")
    issuer = text(root, "saml:Issuer")
    provider = registry.find(issuer) if issuer else None
    if provider is None or not provider.enabled:
        raise Refused("This service provider is not registered here.", reason="unknown_sp")
    must_sign = bool(provider.certificates) if require_signed else provider.authn_requests_signed
    return _signature_checked(root, received, provider, must_sign), provider


def _signature_checked(
    root: etree._Element,
    received: bindings.Received,
    provider: SamlServiceProvider,
    must_sign: bool,
) -> etree._Element:
    signed_inside = root.find("ds:Signature", NS) is not None
    if not (received.signed_in_query or signed_inside):
        if must_sign:
            raise Refused("The request must be signed.", reason="unsigned", provider=provider)
        return root
    if not provider.certificates:
        raise Refused(
            "The request is signed, but the SP registered no certificate.",
            reason="no_certificate",
            provider=provider,
        )
    try:
        if received.signed_in_query:
            bindings.verify_query(received, provider.certificates)
            return root
        return signing.verify(root, provider.certificates)
    except BadXml as error:
        raise Refused(error.message, reason="bad_signature", provider=provider) from None


def _consumer(root: etree._Element, provider: SamlServiceProvider) -> str:
    url = root.get("AssertionConsumerServiceURL")
    index = root.get("AssertionConsumerServiceIndex")
    endpoint = provider.acs(url=url, index=int(index) if index and index.isdigit() else None)
    if endpoint is None or (index is not None and not index.isdigit()):
        raise Refused(
            "The assertion consumer URL in the request is not registered for this SP.",
            reason="acs_not_registered",
            provider=provider,
        )
    return str(endpoint["location"])


def _refuser(
    provider: SamlServiceProvider, acs: str, request_id: str, relay_state: str | None
) -> Refuse:
    def refuse(message: str, reason: str, second: str | None) -> Refused:
        return Refused(
            message,
            reason=reason,
            provider=provider,
            acs=acs,
            request_id=request_id,
            codes=("Requester", second),
            relay_state=relay_state,
        )

    return refuse


def _check_fresh(root: etree._Element, now: datetime, refuse: Refuse) -> None:
    try:
        issued = datetime.fromisoformat((root.get("IssueInstant") or "").replace("Z", "+00:00"))
    except ValueError:
        raise refuse("The request has no valid IssueInstant.", "issue_instant", None) from None
    issued = issued if issued.tzinfo else issued.replace(tzinfo=UTC)
    if not now - MAX_AGE <= issued <= now + SKEW:
        raise refuse("The request is too old or from the future.", "stale", "RequestDenied")


def _check_logout_times(root: etree._Element, provider: SamlServiceProvider, now: datetime) -> None:
    def refuse(message: str, reason: str, _: str | None) -> Refused:
        return Refused(message, reason=reason, provider=provider)

    _check_fresh(root, now, refuse)
    raw = root.get("NotOnOrAfter")
    if raw is None:
        return
    try:
        ends = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise refuse("The request has no valid NotOnOrAfter.", "not_on_or_after", None) from None
    if now >= (ends if ends.tzinfo else ends.replace(tzinfo=UTC)) + SKEW:
        raise refuse("The logout request has expired.", "expired", None)


def _check_name_id_policy(
    root: etree._Element, provider: SamlServiceProvider, refuse: Refuse
) -> None:
    policy = root.find("samlp:NameIDPolicy", NS)
    wanted = policy.get("Format") if policy is not None else None
    if wanted not in (None, UNSPECIFIED, NAME_ID_FORMATS[provider.name_id_format]):
        raise refuse(
            "This SP is set to another NameID format.", "name_id_format", "InvalidNameIDPolicy"
        )
