"""Checking a SAML Response received at our ACS (bindings §3.5, HTTP-POST), in order.

1. The XML: hardened parse (`xml.py`), no DOCTYPE, no comment or processing instruction
   inside a NameID, exactly one Assertion or EncryptedAssertion in the whole document; an
   EncryptedAssertion is decrypted with the connection's SP key (`encryption.py`) and its
   plaintext goes through the same parser and checks.
2. The signature (core §5, profiles §4.1.3.5): over the Response or over the Assertion, by one
   of the connection's configured IdP certificates only (never a key the message carries),
   SHA-1 refused. Only the element signxml returns as signed is read from then on, and it must
   be the Response or the one Assertion (its ID referenced): a second, unsigned assertion or a
   signed one moved elsewhere is never what we read (signature wrapping).
3. Status (core §3.2.2.2): anything but Success is refused with the status.
4. Issuer (profiles §4.1.4.2), Destination (core §3.2.2), Audience (core §2.5.1.4),
   Conditions NotBefore/NotOnOrAfter (core §2.5.1.2), bearer SubjectConfirmationData Recipient,
   NotOnOrAfter and InResponseTo (core §2.4.1.2, profiles §4.1.4.3), with a small clock skew.

`check()` returns a `Checked` assertion or raises `SamlRefused` with a short `reason` for the
audit log. Replay (each assertion ID once) is the caller's, who has the database. This is the
only module that imports signxml.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from idp.federation.saml.encryption import DecryptionRefused, decrypt
from idp.federation.saml.xml import DS, NS, SAML, SAMLP, XmlRefused, parse, tag
from idp.federation.xml_libraries import etree, signxml

SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


class SamlRefused(Exception):
    """The Response is refused; `reason` is a short code, `message` what the person sees."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Expected:
    """What the Response must match: the connection's settings and this browser's request."""

    idp_entity_id: str
    certificates: list[str]
    sp_entity_id: str
    acs_url: str
    request_id: str | None  # the request this browser started; None: none pending
    allow_idp_initiated: bool = False
    skew: int = 90
    decryption_key: str | None = None  # PEM: the connection's SP key, for EncryptedAssertion


@dataclass(frozen=True)
class Checked:
    assertion_id: str
    issuer: str
    subject: str
    name_id_format: str | None
    expires_at: datetime
    in_response_to: str | None
    session_index: str | None
    attributes: dict[str, list[str]] = field(default_factory=dict)


def decode(saml_response: str) -> bytes:
    """The base64 form field (bindings §3.5.4) as bytes."""
    try:
        return base64.b64decode(saml_response.encode("ascii"), validate=False)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SamlRefused("malformed", "The SAML response is not valid base64.") from None


def check(data: bytes, expected: Expected, now: datetime | None = None) -> Checked:
    try:
        document = parse(data)
    except XmlRefused as error:
        raise SamlRefused(error.reason, error.message) from None
    _check_shape(document)
    response, assertion = _signed(document, expected)
    _check_status(document)
    _check_response(response, expected)
    moment = now or datetime.now(UTC)
    return _check_assertion(assertion, expected, moment)


def _check_shape(document: etree._Element) -> None:
    if document.tag != tag(SAMLP, "Response"):
        raise SamlRefused("malformed", "The SAML message is not a Response.")
    _check_name_ids(document)
    assertions = _assertions(document, ".//")
    if len(assertions) != 1:
        raise SamlRefused(
            "assertion_count", f"The response must carry one assertion, not {len(assertions)}."
        )


def _check_name_ids(root: etree._Element) -> None:
    for name_id in root.iter(tag(SAML, "NameID")):
        if len(name_id):  # a comment, processing instruction or element inside the NameID
            raise SamlRefused("nameid_comment", "The NameID contains a comment or markup.")


def _assertions(root: etree._Element, where: str) -> list[etree._Element]:
    """Assertions and EncryptedAssertions under `root` (`./`: children; `.//`: anywhere)."""
    plain = list(root.findall(f"{where}{tag(SAML, 'Assertion')}"))
    return plain + list(root.findall(f"{where}{tag(SAML, 'EncryptedAssertion')}"))


def _signed(document: etree._Element, expected: Expected) -> tuple[etree._Element, etree._Element]:
    """(the Response to read, the Assertion to read): signed elements only, or the document's
    Response when only the assertion is signed."""
    certificates = expected.certificates
    if document.find(tag(DS, "Signature")) is not None:
        signed = _verify(document, certificates)
        if signed.tag != tag(SAMLP, "Response") or signed.get("ID") != document.get("ID"):
            raise SamlRefused("wrapping", "The signature does not cover this response.")
        inner = _assertions(signed, "./")
        if len(inner) != 1 or len(_assertions(signed, ".//")) != 1:
            raise SamlRefused("wrapping", "The signed response does not hold one assertion.")
        return signed, _opened(inner[0], expected)
    children = _assertions(document, "./")
    if not children:  # the one assertion is not where the protocol puts it
        raise SamlRefused("wrapping", "The assertion is not a child of the response.")
    original = _opened(children[0], expected)
    if original.find(tag(DS, "Signature")) is None:
        raise SamlRefused("unsigned", "Neither the response nor the assertion is signed.")
    signed = _verify(_standalone(original), certificates)
    if signed.tag != tag(SAML, "Assertion") or signed.get("ID") != original.get("ID"):
        raise SamlRefused("wrapping", "The signature does not cover this assertion.")
    return document, signed


def _opened(element: etree._Element, expected: Expected) -> etree._Element:
    """The Assertion itself, decrypted when it is an EncryptedAssertion (core §2.3.4)."""
    if element.tag == tag(SAML, "Assertion"):
        return element
    if not expected.decryption_key:
        raise SamlRefused("encrypted", "This connection has no key to decrypt assertions.")
    try:
        plaintext = decrypt(element, expected.decryption_key)
    except DecryptionRefused as error:
        raise SamlRefused("decryption", error.message) from None
    # The plaintext may use prefixes declared above it: parse it inside their declarations.
    holder = etree.tostring(etree.Element("holder", nsmap=element.nsmap))
    wrapped = holder.replace(b"/>", b">", 1) + plaintext + b"</holder>"
    try:
        inside = parse(wrapped)
    except XmlRefused as error:
        raise SamlRefused(error.reason, error.message) from None
    if len(inside) != 1 or inside[0].tag != tag(SAML, "Assertion") or _assertions(inside[0], ".//"):
        raise SamlRefused("assertion_count", "The encrypted assertion must hold one assertion.")
    _check_name_ids(inside)
    return _standalone(inside[0])


def _standalone(element: etree._Element) -> etree._Element:
    return parse(etree.tostring(element))


def _verify(root: etree._Element, certificates: list[str]) -> etree._Element:
    config = signxml.verifier.SignatureConfiguration(location="./", expect_references=1)
    for certificate in certificates:
        try:
            result = signxml.verifier.XMLVerifier().verify(
                root, x509_cert=certificate, expect_config=config, id_attribute="ID"
            )
        except (signxml.exceptions.InvalidSignature, signxml.exceptions.InvalidInput, ValueError):
            continue
        signed = result.signed_xml if isinstance(result, signxml.verifier.VerifyResult) else None
        if signed is not None:
            return signed
    raise SamlRefused(
        "signature", "The signature is not valid for the identity provider's certificate."
    )


def _check_status(document: etree._Element) -> None:
    code = document.find("samlp:Status/samlp:StatusCode", NS)
    value = code.get("Value") if code is not None else None
    if value != SUCCESS:
        inner = code.find("samlp:StatusCode", NS) if code is not None else None
        detail = inner.get("Value") if inner is not None else None
        shown = ", ".join(v.rsplit(":", 1)[-1] for v in (value, detail) if v) or "none"
        raise SamlRefused("status", f"The identity provider answered with status {shown}.")


def _check_response(response: etree._Element, expected: Expected) -> None:
    destination = response.get("Destination")
    # core §3.2.2: a signed Response carrying Destination must name where it arrived.
    if destination is not None and destination != expected.acs_url:
        raise SamlRefused("destination", "The response was sent to another destination.")
    issuer = response.findtext("saml:Issuer", namespaces=NS)
    if issuer is not None and issuer.strip() != expected.idp_entity_id:
        raise SamlRefused("issuer", "The response comes from another issuer.")


def _check_assertion(assertion: etree._Element, expected: Expected, now: datetime) -> Checked:
    issuer = (assertion.findtext("saml:Issuer", namespaces=NS) or "").strip()
    if issuer != expected.idp_entity_id:
        raise SamlRefused("issuer", "The assertion comes from another issuer.")
    skew = timedelta(seconds=expected.skew)
    conditions = assertion.find("saml:Conditions", NS)
    if conditions is not None:
        _check_window(conditions, now, skew)
        _check_audience(conditions, expected.sp_entity_id)
    confirmation = _bearer_confirmation(assertion, expected, now, skew)
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    if name_id is None or not (name_id.text or "").strip():
        raise SamlRefused("subject", "The assertion names no subject.")
    statement = assertion.find("saml:AuthnStatement", NS)
    return Checked(
        assertion_id=assertion.get("ID") or "",
        issuer=issuer,
        subject=(name_id.text or "").strip(),
        name_id_format=name_id.get("Format"),
        expires_at=confirmation,
        in_response_to=_in_response_to(assertion),
        session_index=statement.get("SessionIndex") if statement is not None else None,
        attributes=_attributes(assertion),
    )


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SamlRefused("malformed", "A time in the assertion is not valid.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_window(element: etree._Element, now: datetime, skew: timedelta) -> None:
    not_before = _instant(element.get("NotBefore"))
    not_on_or_after = _instant(element.get("NotOnOrAfter"))
    if not_before is not None and now + skew < not_before:
        raise SamlRefused("not_yet_valid", "The assertion is not valid yet.")
    if not_on_or_after is not None and now - skew >= not_on_or_after:
        raise SamlRefused("expired", "The assertion has expired.")


def _check_audience(conditions: etree._Element, sp_entity_id: str) -> None:
    # core §2.5.1.4: every AudienceRestriction must name us.
    for restriction in conditions.findall("saml:AudienceRestriction", NS):
        audiences = [(a.text or "").strip() for a in restriction.findall("saml:Audience", NS)]
        if sp_entity_id not in audiences:
            raise SamlRefused("audience", "The assertion is meant for another audience.")
    if conditions.find("saml:AudienceRestriction", NS) is None:
        raise SamlRefused("audience", "The assertion names no audience.")


def _bearer_confirmation(
    assertion: etree._Element, expected: Expected, now: datetime, skew: timedelta
) -> datetime:
    """profiles §4.1.4.2: a bearer SubjectConfirmation whose data names our ACS, has not
    expired and answers this browser's request (or none, when unsolicited is allowed)."""
    data = assertion.find(
        f"saml:Subject/saml:SubjectConfirmation[@Method='{BEARER}']/saml:SubjectConfirmationData",
        NS,
    )
    if data is None:
        raise SamlRefused("subject_confirmation", "The assertion has no bearer confirmation.")
    if data.get("Recipient") != expected.acs_url:
        raise SamlRefused("recipient", "The assertion is meant for another recipient.")
    _check_window(data, now, skew)
    expires = _instant(data.get("NotOnOrAfter"))
    if expires is None:
        raise SamlRefused("expired", "The assertion's confirmation has no expiry.")
    in_response_to = data.get("InResponseTo")
    if in_response_to is None:
        if not expected.allow_idp_initiated:
            raise SamlRefused("unsolicited", "Sign-ins started at the identity provider are off.")
    elif expected.request_id is None or in_response_to != expected.request_id:
        raise SamlRefused("in_response_to", "The response answers no request of this browser.")
    return expires


def _in_response_to(assertion: etree._Element) -> str | None:
    data = assertion.find("saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", NS)
    return data.get("InResponseTo") if data is not None else None


def _attributes(assertion: etree._Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for attribute in assertion.iterfind("saml:AttributeStatement/saml:Attribute", NS):
        name = attribute.get("Name") or ""
        values = [(v.text or "").strip() for v in attribute.findall("saml:AttributeValue", NS)]
        found.setdefault(name, []).extend(values)
        friendly = attribute.get("FriendlyName")
        if friendly and friendly != name:
            found.setdefault(friendly, []).extend(values)
    return found
