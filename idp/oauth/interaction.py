"""The interaction policy: after Authlib validates an authorization request, decide whether
the user must sign in, must consent, or may have a code now (OpenID Connect Core §3.1.2.1).

The authorize endpoint never renders a page itself. When the user must act, the validated
request is saved as an `Interaction` in the store and the sign-in or consent page resumes it.

`decide` is pure: what it needs to know about the sign-in, the consent already given and the
time comes in as `Facts` (idp.oauth.authorize gathers them), so the policy is tested without
an app or a database. Parsing of the `claims` parameter lives here too; the flow does not.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)

from idp.core.inputs import TooDeep, load_json
from idp.core.security import new_token
from idp.core.store import Store
from idp.identity.sessions import ActiveSession
from idp.oauth import acr

INTERACTION_TTL = 1800


class Next(Enum):
    SIGN_IN = "sign_in"
    STEP_UP = "step_up"
    CONSENT = "consent"
    ISSUE = "issue"


@dataclass
class Interaction:
    """A validated authorization request waiting for the user."""

    uid: str
    params: list[tuple[str, str]]
    created_at: float = field(default_factory=time.time)
    consented: bool = False
    organization_id: int | None = None  # chosen on the consent page (idp.oauth.organizations)

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    @property
    def prompts(self) -> set[str]:
        return set((self.param("prompt") or "").split())

    @property
    def scopes(self) -> list[str]:
        return (self.param("scope") or "").split()

    @property
    def resources(self) -> list[str]:
        """The `resource` parameters, in order and without repeats (RFC 8707 §2.1)."""
        return list(dict.fromkeys(v for k, v in self.params if k == "resource"))

    def save(self, store: Store) -> None:
        data = {
            "params": self.params,
            "created_at": self.created_at,
            "consented": self.consented,
            "organization_id": self.organization_id,
        }
        store.set("interaction:" + self.uid, json.dumps(data).encode(), INTERACTION_TTL)

    @classmethod
    def load(cls, store: Store, uid: str) -> Interaction | None:
        raw = store.get("interaction:" + uid)
        if raw is None:
            return None
        data = json.loads(raw)
        params = [tuple(p) for p in data["params"]]
        organization_id = data.get("organization_id")
        return cls(uid, params, data["created_at"], data["consented"], organization_id)  # type: ignore[arg-type]

    @classmethod
    def start(cls, params: list[tuple[str, str]]) -> Interaction:
        return cls(new_token(16), params)


@dataclass(frozen=True)
class Facts:
    """What `decide` knows besides the request: nothing here is looked up by the policy."""

    login: ActiveSession | None  # the browser's sign-in, None when nobody is signed in
    subject: str | None  # the signed-in user's `sub`
    hinted_subject: str | None  # the `sub` of a valid id_token_hint, None without one
    consented: frozenset[str]  # scopes the user already allowed this client, for every resource
    first_party: bool  # a first-party client is never asked about
    now: float  # seconds since the epoch
    # Scopes releasing claims the `claims` parameter asks for by name: allowed like the others.
    claim_scopes: frozenset[str] = frozenset()
    # The `organization` scope needs the person to choose an organization, or to allow this
    # client the one chosen: consent is remembered per organization.
    organization_pending: bool = False


def decide(interaction: Interaction, facts: Facts) -> Next:
    """What happens next; raises the OIDC error when `prompt=none` forbids asking the user."""
    prompts = interaction.prompts
    if "none" in prompts and len(prompts) > 1:
        # Core §3.1.2.1: none with any other value is an error.
        raise InvalidRequestError("prompt=none cannot be combined with other values.")
    max_age = _max_age(interaction.param("max_age"))
    login = facts.login
    if login is None or _must_sign_in(interaction, login, facts, max_age):
        if "none" in prompts:
            raise LoginRequiredError()
        return Next.SIGN_IN
    wanted = acr.requested(interaction.param("acr_values"), interaction.param("claims"))
    if acr.needs_step_up(wanted, login.amr):
        if "none" in prompts:
            raise InteractionRequiredError(
                description="The app asks for a second factor; the user must provide it."
            )
        return Next.STEP_UP
    if _wants_consent(interaction, facts):
        if "none" in prompts:
            raise ConsentRequiredError()
        return Next.CONSENT
    return Next.ISSUE


def _wants_consent(interaction: Interaction, facts: Facts) -> bool:
    """prompt=consent asks again; otherwise only for scopes not yet allowed (RFC 8707: per
    resource, which `Facts.consented` already folds in)."""
    if interaction.consented:
        return False
    if "consent" in interaction.prompts or facts.organization_pending:
        return True
    asked = set(interaction.scopes) | facts.claim_scopes
    return not facts.first_party and not asked <= facts.consented


def _must_sign_in(
    interaction: Interaction, login: ActiveSession, facts: Facts, max_age: int | None
) -> bool:
    """Core §3.1.2.1. A sign-in made during this request answers `prompt=login` and any
    `max_age` (0 included: "equivalent to prompt=login"), however long it took."""
    if facts.subject is None:
        return True
    signed_in_at = login.authenticated_at.timestamp()
    fresh = signed_in_at >= interaction.created_at
    if interaction.prompts & {"login", "select_account"} and not fresh:
        return True
    if max_age is not None and facts.now - signed_in_at > max_age and not fresh:
        return True
    return facts.hinted_subject is not None and facts.hinted_subject != facts.subject


def _max_age(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequestError("max_age must be a whole number of seconds.") from None
    if value < 0:
        raise InvalidRequestError("max_age must not be negative.")
    return value


def requested_claims(raw: str | None) -> dict[str, list[str]]:
    """The `claims` request parameter (Core §5.5), reduced to the claim names of each target
    that asks for any. A member is null or an object (§5.5.1); its `essential`, `value` and
    `values` are hints we need not follow for these claims: we release what we have."""
    if not raw:
        return {}
    try:
        data: Any = load_json(raw)
    except TooDeep as error:
        raise InvalidRequestError(f"claims: {error}") from None
    except ValueError:
        raise InvalidRequestError("claims must be a JSON object.") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("claims must be a JSON object.")
    result: dict[str, list[str]] = {}
    for target in ("userinfo", "id_token"):
        members = data.get(target) or {}
        if not isinstance(members, dict):
            raise InvalidRequestError(f"claims.{target} must be a JSON object.")
        if not all(value is None or isinstance(value, dict) for value in members.values()):
            raise InvalidRequestError(f"Each claim in claims.{target} must be null or an object.")
        if members:
            result[target] = sorted(members)
    return result
