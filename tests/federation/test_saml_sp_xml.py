"""The one XML parser of the SAML service provider refuses what could make it read files,
reach the network or expand entities (XXE, billion laughs), and reads IdP metadata."""

from __future__ import annotations

import pytest

from idp.federation.saml.metadata import MetadataRefused, read_idp_metadata
from idp.federation.saml.xml import XmlRefused, parse

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><r>&lol2;</r>'
)
EXTERNAL = b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><r>&x;</r>'
PARAMETER = b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>'


@pytest.mark.parametrize("data", [LAUGHS, EXTERNAL, PARAMETER, b"<!doctype r><r/>"])
def test_any_doctype_is_refused(data):
    with pytest.raises(XmlRefused) as refused:
        parse(data)
    assert refused.value.reason == "doctype"


def test_malformed_and_oversized_xml_are_refused():
    with pytest.raises(XmlRefused) as malformed:
        parse(b"<r>")
    assert malformed.value.reason == "malformed"
    with pytest.raises(XmlRefused) as large:
        parse(b"<r>" + b"a" * 600_000 + b"</r>")
    assert large.value.reason == "too_large"


def test_comments_are_kept_so_they_can_be_seen():
    root = parse(b"<r>admin@corp.example<!---->.evil.example</r>")
    assert len(root) == 1 and root.text == "admin@corp.example"


def test_idp_metadata_without_a_redirect_sign_in_url_is_refused():
    data = (
        b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">'
        b"<md:IDPSSODescriptor protocolSupportEnumeration="
        b'"urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>'
    )
    with pytest.raises(MetadataRefused) as refused:
        read_idp_metadata(data)
    assert refused.value.message == "The identity provider offers no HTTP-Redirect sign-in URL."
