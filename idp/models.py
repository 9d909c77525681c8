"""Every model, imported in one place so Alembic and the tests see the whole schema."""

from idp.core.audit import AuditEvent
from idp.core.generations import Generation
from idp.identity.models import LoginSession, User
from idp.identity.one_time import OneTimeToken
from idp.identity.passkeys import Passkey, PasskeyUserHandle
from idp.identity.two_factor_models import BackupCode, TotpFactor, TrustedDevice
from idp.oauth.denylist import RevokedAccessToken
from idp.oauth.device import DeviceAuthorization
from idp.oauth.models import AuthorizationCode, Client, Consent, RefreshToken, TokenFamily
from idp.oauth.resources import Resource

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "BackupCode",
    "Client",
    "Consent",
    "DeviceAuthorization",
    "Generation",
    "LoginSession",
    "OneTimeToken",
    "Passkey",
    "PasskeyUserHandle",
    "RefreshToken",
    "Resource",
    "RevokedAccessToken",
    "TokenFamily",
    "TotpFactor",
    "TrustedDevice",
    "User",
]
