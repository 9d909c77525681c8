"""XML signatures: RSA-SHA256 over exclusive C14N (SAML core §5.4), signed and checked.

The only user of signxml here. A signature goes where SAML core §5.4.1 wants it, right after
the Issuer, through signxml's placeholder. Verifying returns what was signed, and only a
signature over the whole root element counts (a signature over a part proves nothing about
the rest: XML signature wrapping).
"""

from __future__ import annotations

from idp.federation.saml_idp.xml import DS, NS, SAML, BadXml
from idp.federation.xml_libraries import etree, signxml


def sign(element: etree._Element, key_pem: bytes, certificate_pem: bytes) -> etree._Element:
    """A signed copy of `element` (which has an ID and an Issuer)."""
    _placeholder(element)
    signer = signxml.signer.XMLSigner(
        signature_algorithm=signxml.algorithms.SignatureMethod.RSA_SHA256,
        digest_algorithm=signxml.algorithms.DigestAlgorithm.SHA256,
        c14n_algorithm=signxml.algorithms.CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signer.namespaces = {"ds": DS}
    signed: etree._Element = signer.sign(
        element,
        key=key_pem,
        cert=certificate_pem.decode(),
        reference_uri=element.get("ID"),
    )
    return signed


def verify(root: etree._Element, certificates: list[str]) -> etree._Element:
    """The signed root, if one of `certificates` signed all of it; BadXml otherwise."""
    if root.find("ds:Signature", NS) is None:
        raise BadXml("The message is not signed.")
    methods, digests = signxml.algorithms.SignatureMethod, signxml.algorithms.DigestAlgorithm
    config = signxml.verifier.SignatureConfiguration(
        signature_methods=frozenset({methods.RSA_SHA256, methods.RSA_SHA512}),
        digest_algorithms=frozenset({digests.SHA256, digests.SHA512}),
    )
    for pem in certificates:
        try:
            result = signxml.verifier.XMLVerifier().verify(
                root, x509_cert=pem, expect_config=config, id_attribute="ID"
            )
        except (signxml.exceptions.SignXMLException, ValueError):
            continue
        signed = result[0] if isinstance(result, list) else result
        if signed.signed_xml is not None and _is_whole(signed.signed_xml, root):
            return signed.signed_xml
    raise BadXml("The message's signature does not verify with the SP's certificates.")


def _is_whole(signed: etree._Element, root: etree._Element) -> bool:
    return bool(signed.tag == root.tag and root.get("ID") and signed.get("ID") == root.get("ID"))


def _placeholder(element: etree._Element) -> None:
    issuer = element.find(f"{{{SAML}}}Issuer")
    placeholder = etree.Element(f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
    if issuer is None:
        element.insert(0, placeholder)
    else:
        issuer.addnext(placeholder)
