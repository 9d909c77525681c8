"""The federation tests' fixtures, each set in a module named for what it serves:
`upstream_peer.py` (a second instance of this provider as the upstream OIDC provider),
`saml_idp_fixtures.py` (python3-saml service providers of our SAML identity provider);
the enterprise SSO tests import theirs from `sso_fixtures.py`."""

from tests.federation.saml_idp_fixtures import *  # noqa: F403
from tests.federation.upstream_peer import *  # noqa: F403
