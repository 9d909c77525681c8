"""The SAML 2.0 service provider: what an enterprise IdP's assertions are checked against.

- `xml.py`: the one hardened lxml parser (no DTD, no entities, no network) and the namespaces;
- `requests.py`: the AuthnRequest sent over HTTP-Redirect (bindings §3.4);
- `redirect.py`: the HTTP-Redirect encoding and its query signature (bindings §3.4.4.1),
  shared with the identity provider (`idp.federation.saml_idp`), as `xml.py` is;
- `response.py`: the Response received over HTTP-POST (bindings §3.5), every check of core
  §2.3.3, §2.5.1, §3.2.2 and profiles §4.1.4.2-3, ending in a `Checked` assertion;
- `metadata.py`: our SP metadata per connection and the import of an IdP's metadata.

Signatures are verified with signxml (the only importer is `response.py`), with the IdP's
configured certificates only, and only the element signxml returns as signed is read. Nothing
here knows organizations, accounts or HTTP: `idp.federation.sso` and `idp.web` do.
"""
