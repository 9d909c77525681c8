"""Signing in (or linking) with an upstream provider, from the first redirect to the outcome.

`start` sends the browser to the provider; `callback` checks its answer (idp.federation.
upstream.flow for state and browser binding, the protocol client for the rest) and decides:
`SignIn` (the web layer completes the first factor with amr `fed`, so two-factor, bans and
step-up still apply), `Linked` (a signed-in person linked the provider), or `Prove` (the
person must sign in to their account here first). Every refusal is an `UpstreamError`,
audited as FEDERATED_SIGN_IN_FAILED with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.core.audit import Event, record
from idp.core.security import digest
from idp.core.store import Store, StoreUnavailable
from idp.db import db
from idp.errors import IdpError
from idp.federation import accounts
from idp.federation.asserted import Asserted
from idp.federation.upstream import flow
from idp.federation.upstream.errors import UpstreamError
from idp.federation.upstream.models import UpstreamProvider
from idp.federation.upstream.providers import client_for, find_provider
from idp.identity.models import User
from idp.settings import Settings

EXPIRED = "This sign-in is not valid any more (it was used, has expired, or was started in "
EXPIRED += "another browser). Start again."


@dataclass(frozen=True)
class SignIn:
    user: User
    next: str


@dataclass(frozen=True)
class Linked:
    user: User
    provider: UpstreamProvider
    next: str


@dataclass(frozen=True)
class Prove:
    token: str
    provider: UpstreamProvider


def enabled_provider(slug: str) -> UpstreamProvider | None:
    provider = find_provider(slug)
    return provider if provider is not None and provider.enabled else None


def start(
    provider: UpstreamProvider,
    settings: Settings,
    store: Store,
    *,
    redirect_uri: str,
    next: str,
    binding: str,
    linking_user_id: int | None = None,
    reauthenticate: bool = False,
) -> str:
    """The provider's authorization URL; the pending sign-in is kept for the callback.
    `reauthenticate`: the provider is asked to check the person again (a fresh sign-in)."""
    try:
        client = client_for(provider, settings)
        started = client.start(redirect_uri, reauthenticate=reauthenticate)
        pending = flow.Pending(provider.slug, started, next, digest(binding), linking_user_id)
        flow.begin(store, pending)
    except UpstreamError as error:
        failed(provider.slug, error)
        raise
    except StoreUnavailable:
        raise UpstreamError("store", "Signing in is briefly unavailable. Try again.") from None
    return started.url


def callback(
    slug: str,
    params: dict[str, str],
    *,
    binding: str | None,
    settings: Settings,
    store: Store,
    current_user: User | None,
) -> SignIn | Linked | Prove:
    try:
        return _callback(slug, params, binding, settings, store, current_user)
    except UpstreamError as error:
        failed(slug, error)
        raise
    except StoreUnavailable:
        unavailable = UpstreamError("store", "Signing in is briefly unavailable. Try again.")
        failed(slug, unavailable)
        raise unavailable from None
    except IdpError as error:  # refused by the accounts (already linked elsewhere, bad email)
        refused = UpstreamError("refused", error.message, detail=error.detail)
        failed(slug, refused)
        raise refused from None


def _callback(
    slug: str,
    params: dict[str, str],
    binding: str | None,
    settings: Settings,
    store: Store,
    current_user: User | None,
) -> SignIn | Linked | Prove:
    provider = enabled_provider(slug)
    if provider is None:
        raise UpstreamError("unknown_provider", "This provider is not available.")
    pending = flow.take(store, params.get("state", ""), binding)
    if pending is None or pending.slug != slug:
        raise UpstreamError("bad_state", EXPIRED)
    finished = client_for(provider, settings).finish(pending.started, params)
    asserted = finished.asserted
    sealed = None
    if provider.keep_tokens:
        sealed = accounts.seal_tokens(settings.secret_key, asserted, finished.tokens)
    policy = accounts.Policy(provider.trusted_for_linking, sealed)
    if pending.linking_user_id is not None:
        return _link(current_user, pending, provider, asserted, policy)
    outcome = accounts.resolve(asserted, policy)
    if isinstance(outcome, accounts.SignedIn):
        return SignIn(outcome.user, pending.next)
    token = flow.keep_proof(store, slug, asserted, sealed, pending.next)
    return Prove(token, provider)


def _link(
    user: User | None,
    pending: flow.Pending,
    provider: UpstreamProvider,
    asserted: Asserted,
    policy: accounts.Policy,
) -> Linked:
    """A signed-in person linked the provider: still the same person, linked once."""
    if user is None or user.id != pending.linking_user_id:
        raise UpstreamError("linking_user", "Sign in again, then link the provider.")
    accounts.link(user, asserted, policy)
    return Linked(user, provider, pending.next)


def finish_proof(user: User, store: Store, token: str | None) -> tuple[UpstreamProvider, str]:
    """The person proved `user`: link the upstream identity kept under `token`; returns the
    provider and where to go next. `FederationRefused` when there is nothing to link."""
    proof = flow.proof(store, token)
    provider = enabled_provider(proof.slug) if proof is not None else None
    if proof is None or provider is None:
        raise accounts.FederationRefused(EXPIRED)
    accounts.link(user, proof.asserted, accounts.Policy(False, proof.sealed_tokens))
    flow.end_proof(store, token)
    return provider, proof.next


def failed(slug: str, error: UpstreamError) -> None:
    db.session.rollback()
    record(Event.FEDERATED_SIGN_IN_FAILED, source=slug, reason=error.reason, why=error.detail)
    db.session.commit()
