"""Enterprise SSO per organization: connections, claimed email domains, sign-in through them.

- `models.py`: `SsoConnection`, `SsoDomain`, `SamlAssertionUse` (each assertion ID once); which
  connection a browser session came through is `SsoSession`, with the organizations
  (`idp.identity.organization_models`), where the rule it bounds is checked;
- `connections.py`: organization admins create, change and delete connections;
- `domains.py`: claiming a domain, verifying it (DNS TXT or an operator), home-realm discovery;
- `sign_in.py`: a checked assertion to an account (linked, matched by a vouched email, or
  created), its organization membership and role, and which organizations a session may use.

The SAML protocol itself is `idp.federation.saml`; HTTP is `idp.web.sso`.
"""
