"""The messages we send: the signed Response with its Assertion (SAML core §2.3.3, §3.3.3),
error Responses (§3.2.2.2), LogoutRequest and LogoutResponse (§3.7).

Responses to AuthnRequests always carry a signed Assertion inside a signed Response (the
Assertion signed first, then the Response over it), whatever the SP asks: both are cheap and
every SP library accepts them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from idp.federation.saml_idp import signing
from idp.federation.saml_idp.xml import SAML, SAMLP
from idp.federation.xml_libraries import etree

ASSERTION_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=60)
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
PASSWORD_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"  # noqa: S105
UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
STATUS = "urn:oasis:names:tc:SAML:2.0:status:"
SUCCESS = STATUS + "Success"


@dataclass(frozen=True)
class Credentials:
    issuer: str  # our entity ID
    key_pem: bytes
    certificate_pem: bytes


@dataclass(frozen=True)
class Statement:
    """What the assertion states."""

    audience: str
    recipient: str  # the ACS URL
    in_response_to: str | None
    name_id: str
    name_id_format: str
    session_index: str
    authn_instant: datetime
    methods: tuple[str, ...]
    attributes: dict[str, list[str]]


def new_id() -> str:
    """An xs:ID: starts with a letter or underscore (SAML core §1.3.4)."""
    return "_" + secrets.token_hex(20)


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def success(credentials: Credentials, facts: Statement, now: datetime) -> bytes:
    response = _response(credentials, facts.recipient, facts.in_response_to, now, SUCCESS)
    assertion = signing.sign(
        _assertion(credentials.issuer, facts, now),
        credentials.key_pem,
        credentials.certificate_pem,
    )
    response.append(assertion)
    return _signed(response, credentials)


def failure(
    credentials: Credentials,
    destination: str,
    in_response_to: str | None,
    codes: tuple[str, str | None],
    now: datetime,
    message: str | None = None,
) -> bytes:
    """An error Response: top-level code and second-level code (§3.2.2.2), no assertion."""
    top, second = codes
    response = _response(credentials, destination, in_response_to, now, STATUS + top, second)
    if message:
        status = response.find(f"{{{SAMLP}}}Status")
        assert status is not None
        etree.SubElement(status, f"{{{SAMLP}}}StatusMessage").text = message
    return _signed(response, credentials)


def logout_request(
    credentials: Credentials, destination: str, name_id: str, name_format: str, index: str
) -> tuple[str, bytes]:
    """A LogoutRequest (§3.7.1) for the Redirect or POST binding, unsigned: the binding signs."""
    now = datetime.now(UTC)
    root = _protocol("LogoutRequest", credentials.issuer, destination, now)
    root.set("NotOnOrAfter", instant(now + ASSERTION_LIFETIME))
    etree.SubElement(root, f"{{{SAML}}}NameID", Format=name_format).text = name_id
    etree.SubElement(root, f"{{{SAMLP}}}SessionIndex").text = index
    return str(root.get("ID")), bytes(etree.tostring(root))


def logout_response(
    credentials: Credentials, destination: str, in_response_to: str, ok: bool
) -> bytes:
    """A LogoutResponse (§3.7.2); unsigned: the binding signs it (Redirect) or `signed_post`."""
    root = _protocol("LogoutResponse", credentials.issuer, destination, datetime.now(UTC))
    root.set("InResponseTo", in_response_to)
    status = etree.SubElement(root, f"{{{SAMLP}}}Status")
    code = SUCCESS if ok else STATUS + "Responder"
    etree.SubElement(status, f"{{{SAMLP}}}StatusCode", Value=code)
    return bytes(etree.tostring(root))


def signed_post(xml: bytes, credentials: Credentials) -> bytes:
    """A protocol message signed inside, for the POST binding (bindings §3.5.2)."""
    return _signed(etree.fromstring(xml), credentials)


def _protocol(kind: str, issuer: str, destination: str, now: datetime) -> etree._Element:
    root = etree.Element(f"{{{SAMLP}}}{kind}", nsmap={"samlp": SAMLP, "saml": SAML})
    root.set("ID", new_id())
    root.set("Version", "2.0")
    root.set("IssueInstant", instant(now))
    root.set("Destination", destination)
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = issuer
    return root


def _response(
    credentials: Credentials,
    destination: str,
    in_response_to: str | None,
    now: datetime,
    code: str,
    second: str | None = None,
) -> etree._Element:
    root = _protocol("Response", credentials.issuer, destination, now)
    if in_response_to:
        root.set("InResponseTo", in_response_to)
    status = etree.SubElement(root, f"{{{SAMLP}}}Status")
    top = etree.SubElement(status, f"{{{SAMLP}}}StatusCode", Value=code)
    if second:
        etree.SubElement(top, f"{{{SAMLP}}}StatusCode", Value=STATUS + second)
    return root


def _assertion(issuer: str, facts: Statement, now: datetime) -> etree._Element:
    until = instant(now + ASSERTION_LIFETIME)
    root = etree.Element(f"{{{SAML}}}Assertion", nsmap={"saml": SAML})
    root.set("ID", new_id())
    root.set("Version", "2.0")
    root.set("IssueInstant", instant(now))
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = issuer
    _subject(root, facts, until)
    conditions = etree.SubElement(
        root, f"{{{SAML}}}Conditions", NotBefore=instant(now - CLOCK_SKEW), NotOnOrAfter=until
    )
    restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
    etree.SubElement(restriction, f"{{{SAML}}}Audience").text = facts.audience
    _authn_statement(root, facts, until)
    _attribute_statement(root, facts.attributes)
    return root


def _subject(root: etree._Element, facts: Statement, until: str) -> None:
    """§2.4: bearer confirmation bound to the ACS, the request and a short lifetime
    (profiles §4.1.4.2)."""
    subject = etree.SubElement(root, f"{{{SAML}}}Subject")
    name_id = etree.SubElement(subject, f"{{{SAML}}}NameID", Format=facts.name_id_format)
    name_id.text = facts.name_id
    confirmation = etree.SubElement(subject, f"{{{SAML}}}SubjectConfirmation", Method=BEARER)
    data = etree.SubElement(confirmation, f"{{{SAML}}}SubjectConfirmationData", NotOnOrAfter=until)
    data.set("Recipient", facts.recipient)
    if facts.in_response_to:
        data.set("InResponseTo", facts.in_response_to)


def _authn_statement(root: etree._Element, facts: Statement, until: str) -> None:
    statement = etree.SubElement(root, f"{{{SAML}}}AuthnStatement")
    statement.set("AuthnInstant", instant(facts.authn_instant))
    statement.set("SessionIndex", facts.session_index)
    context = etree.SubElement(statement, f"{{{SAML}}}AuthnContext")
    ref = PASSWORD_TRANSPORT if "pwd" in facts.methods else UNSPECIFIED
    etree.SubElement(context, f"{{{SAML}}}AuthnContextClassRef").text = ref


def _attribute_statement(root: etree._Element, attributes: dict[str, list[str]]) -> None:
    if not attributes:
        return
    statement = etree.SubElement(root, f"{{{SAML}}}AttributeStatement")
    for name, values in attributes.items():
        attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name, NameFormat=BASIC)
        for value in values:
            etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = value


def _signed(root: etree._Element, credentials: Credentials) -> bytes:
    signed = signing.sign(root, credentials.key_pem, credentials.certificate_pem)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
