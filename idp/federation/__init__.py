"""Federation: signing people in with other identity providers, and being one for SAML apps.

- upstream OIDC / OAuth 2 providers the operator configures for everyone ("Continue with ...");
- enterprise SSO per organization (an OIDC or SAML connection, claimed email domains,
  home-realm discovery, members created on first sign-in);
- the SAML 2.0 service provider that consumes an enterprise IdP's assertions;
- the SAML 2.0 identity provider that apps sign in through.

Every upstream ends in an `Asserted` (`asserted.py`): what the other side said about a person,
after every check. `models.py` keeps the link from an upstream subject to a local account.
Nothing here reads an HTTP request: `idp.web` parses it and calls these services.
"""
