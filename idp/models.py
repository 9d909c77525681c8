"""Every model, imported in one place so Alembic and the tests see the whole schema."""

from idp.admin.impersonation import Impersonation
from idp.api.models import ApiKey
from idp.core.audit import AuditEvent
from idp.core.generations import Generation
from idp.federation.models import FederatedIdentity
from idp.federation.saml_idp.models import SamlServiceProvider
from idp.federation.sso.models import SamlAssertionUse, SsoConnection, SsoDomain
from idp.federation.upstream.models import UpstreamProvider
from idp.identity.bans import Ban
from idp.identity.models import LoginSession, User
from idp.identity.one_time import OneTimeToken
from idp.identity.organization_models import (
    ActiveOrganization,
    Invitation,
    Membership,
    Organization,
    OrganizationRole,
    SsoSession,
    Team,
    TeamMember,
)
from idp.identity.passkeys import Passkey, PasskeyUserHandle
from idp.identity.two_factor_models import BackupCode, TotpFactor, TrustedDevice
from idp.oauth.denylist import RevokedAccessToken
from idp.oauth.device import DeviceAuthorization
from idp.oauth.models import AuthorizationCode, Client, Consent, RefreshToken, TokenFamily
from idp.oauth.organizations import ClientOrganization, OrganizationConsent
from idp.oauth.resources import Resource

__all__ = [
    "ActiveOrganization",
    "ApiKey",
    "AuditEvent",
    "AuthorizationCode",
    "BackupCode",
    "Ban",
    "Client",
    "ClientOrganization",
    "Consent",
    "DeviceAuthorization",
    "FederatedIdentity",
    "Generation",
    "Impersonation",
    "Invitation",
    "LoginSession",
    "Membership",
    "OneTimeToken",
    "Organization",
    "OrganizationConsent",
    "OrganizationRole",
    "Passkey",
    "PasskeyUserHandle",
    "RefreshToken",
    "Resource",
    "RevokedAccessToken",
    "SamlAssertionUse",
    "SamlServiceProvider",
    "SsoConnection",
    "SsoDomain",
    "SsoSession",
    "Team",
    "TeamMember",
    "TokenFamily",
    "TotpFactor",
    "TrustedDevice",
    "UpstreamProvider",
    "User",
]
