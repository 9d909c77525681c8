"""The SAML 2.0 identity provider: apps (service providers) sign their users in with us.

- `models.py`: the registered service providers; `registry.py` registers them from their
  metadata (`sp_metadata.py`), changes and removes them, with audit rows;
- `metadata.py`: our IdP metadata; `signing.py`: XML signatures (the only user of signxml here);
- `xml.py`: the hardened parser every incoming document goes through;
- `bindings.py`: HTTP-Redirect and HTTP-POST encodings (SAML bindings §3.4, §3.5);
- `requests.py`: AuthnRequest and LogoutRequest checks; `responses.py`: the signed Response;
- `sso.py`: the single sign-on flow, as outcomes for the web layer; `logout.py`: single logout
  (SAML core §3.7) and who got an assertion in which session (`participants.py`).
Nothing here reads an HTTP request: idp.web.saml_idp parses it.
"""
