"""What an assertion says about a person: the NameID and the attributes released.

Attributes (SAML core §2.7.3) use the basic name format; each SP gets only those chosen for
it. `organizations` lists the slugs of the person's organizations and `organization_roles`
their roles there as `slug:role`. The persistent NameID (SAML core §8.3.7) is opaque and
stable per person and SP, and differs between SPs: an HMAC of the account id and the SP's
entity ID under a key derived from IDP_SECRET_KEY (a new secret gives new NameIDs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from idp.federation.saml_idp.models import SamlServiceProvider
from idp.identity import organizations
from idp.identity.models import User

ATTRIBUTES = ("email", "name", "organizations", "organization_roles")
PERSISTENT_INFO = b"idp saml persistent nameid v1"


def name_id(user: User, provider: SamlServiceProvider, secret_key: str) -> str:
    if provider.name_id_format == "persistent":
        return persistent_name_id(user.id, provider.entity_id, secret_key)
    return user.email


def persistent_name_id(user_id: int, entity_id: str, secret_key: str) -> str:
    key = hmac.new(secret_key.encode(), PERSISTENT_INFO, hashlib.sha256).digest()
    mac = hmac.new(key, f"{user_id}\x00{entity_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def released(user: User, provider: SamlServiceProvider) -> dict[str, list[str]]:
    """The attributes chosen for `provider`, with the person's values (maybe none)."""
    memberships = organizations.mine(user) if _wants_organizations(provider) else []
    values = {
        "email": [user.email],
        "name": [user.name] if user.name else [],
        "organizations": [m.organization.slug for m in memberships],
        "organization_roles": [f"{m.organization.slug}:{m.role}" for m in memberships],
    }
    return {name: values[name] for name in provider.attributes if name in values}


def _wants_organizations(provider: SamlServiceProvider) -> bool:
    return bool({"organizations", "organization_roles"} & set(provider.attributes))
