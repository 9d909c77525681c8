"""The authorization endpoint's flow (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2), free of HTTP.

`start` takes a new request, `resume` one that waited for the user to sign in or step up,
`consent_page` and `decide_consent` the consent page's two halves. Each validates with
Authlib, asks the interaction policy (idp.oauth.interaction) what comes next and returns an
outcome the web layer maps to HTTP: `Respond` and `ErrorPage` (idp.oauth.delivery),
`SignIn`, `StepUp`, `GoToConsent` or `AskConsent`. The caller passes the browser's sign-in as
a `Login`; nothing here reads the HTTP request, cookies or the session.

Unknown clients and unregistered redirect URIs get an error page, never a redirect
(RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import idna
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error

from idp.core.store import StoreUnavailable
from idp.identity.models import User
from idp.identity.sessions import ActiveSession
from idp.oauth import acr, consent
from idp.oauth import organizations as orgs
from idp.oauth.delivery import RESPONSE_MODES, ErrorPage, Respond, error_response, respond
from idp.oauth.errors import AccessDenied, RequestNotSupported, RequestUriNotSupported
from idp.oauth.interaction import Facts, Interaction, Next, decide, requested_claims
from idp.oauth.metadata_documents import names_document
from idp.oauth.requests import AuthorizationRequest, SignInContext
from idp.oauth.resources import Target, check_scopes, target_of
from idp.oauth.scopes import DESCRIPTIONS, scope_of, subject
from idp.oauth.server import Server

log = logging.getLogger(__name__)
EXPIRED = ErrorPage(400, "This sign-in request has expired. Go back to the app and start again.")
UNAVAILABLE = ErrorPage(503, "Signing in to apps is briefly unavailable. Try again soon.")


@dataclass(frozen=True)
class Login:
    """The browser's sign-in: the user and the session."""

    user: User
    session: ActiveSession


@dataclass(frozen=True)
class SignIn:
    """Send the user to sign in, then back to `resume(uid)`."""

    uid: str
    login_hint: str | None


@dataclass(frozen=True)
class StepUp:
    """Send the user to add a second factor to this session, then back to `resume(uid)`."""

    uid: str


@dataclass(frozen=True)
class SetUpSecondFactor:
    """The chosen organization requires a second factor: set one up, then `resume(uid)`."""

    uid: str
    message: str


@dataclass(frozen=True)
class GoToConsent:
    """Send the user to the consent page for `uid`."""

    uid: str


@dataclass(frozen=True)
class AskConsent:
    """What the consent page shows: scopes in plain words, asked and already allowed."""

    uid: str
    client: Any
    origin: str
    user: User
    resources: list[tuple[str | None, str]]  # (registered name or None, URI)
    scopes: list[tuple[str, str]]
    already: list[tuple[str, str]]
    redirect_host: str
    # The organizations the person may give the app (id, name), and the preselected one.
    organizations: list[tuple[int, str]]
    organization_id: int | None


Outcome = Respond | ErrorPage | SignIn | StepUp | SetUpSecondFactor | GoToConsent


def start(server: Server, params: list[tuple[str, str]], login: Login | None) -> Outcome:
    return _run(server, Interaction.start(params), login)


def resume(server: Server, uid: str, login: Login | None) -> Outcome:
    interaction = _load(server, uid)
    return interaction if isinstance(interaction, ErrorPage) else _run(server, interaction, login)


def consent_page(server: Server, uid: str, login: Login | None) -> Outcome | AskConsent:
    """The consent page; step-up by scope: the user is asked only for what is new."""
    found = _consent_request(server, uid, login)
    if not isinstance(found, tuple):
        return found
    interaction, grant, target, user, choice = found
    allowed = set.intersection(
        *(consent.remembered(user, grant.client, r) for r in target.uris or [""])
    )
    wanted = _consent_scopes(interaction, grant.client)
    asked = [s for s in wanted if s not in allowed] or wanted
    registered = {r.uri for r in target.registered}
    return AskConsent(
        uid=uid,
        client=grant.client,
        origin=_origin(grant.client),
        user=user,
        resources=[(r.name, r.uri) for r in target.registered]
        + [(None, uri) for uri in target.uris if uri not in registered],
        scopes=_described(asked, target),
        already=_described([s for s in wanted if s not in asked], target),
        redirect_host=ascii_host(grant.redirect_uri),
        organizations=[(m.organization_id, m.organization.name) for m in choice.choices]
        if choice.asked
        else [],
        organization_id=choice.chosen.organization_id if choice.chosen else None,
    )


def decide_consent(
    server: Server, uid: str, login: Login | None, allow: bool, organization_id: int | None = None
) -> Outcome:
    """The user's answer on the consent page, with the organization chosen there."""
    found = _consent_request(server, uid, login)
    if not isinstance(found, tuple):
        return found
    interaction, grant, target, user, choice = found
    if not allow:
        return _error(server, AccessDenied(redirect_uri=grant.redirect_uri), interaction)
    if choice.asked and choice.choices:
        if organization_id is None and choice.chosen is not None:  # the preselected one
            organization_id = choice.chosen.organization_id
        if organization_id not in {m.organization_id for m in choice.choices}:
            return ErrorPage(400, "Choose which of your organizations the app may know.")
        assert organization_id is not None
        orgs.remember(user, grant.client, organization_id)
        interaction.organization_id = organization_id
    consent.grant(user, grant.client, _consent_scopes(interaction, grant.client), target.uris)
    interaction.consented = True
    return _run(server, interaction, login)


def _consent_request(
    server: Server, uid: str, login: Login | None
) -> Outcome | tuple[Interaction, Any, Target, User, orgs.Choice]:
    interaction = _load(server, uid)
    if isinstance(interaction, ErrorPage):
        return interaction
    if login is None:
        return EXPIRED
    try:
        grant = _validate(server, interaction, login)
        target = _target(server, interaction, grant)
        return interaction, grant, target, login.user, _choice(interaction, grant, login)
    except OAuth2Error as error:
        return _error(server, error, interaction)


def _validate(server: Server, interaction: Interaction, login: Login | None) -> Any:
    """Authlib's validation of the request, rebuilt from what was saved."""
    request = AuthorizationRequest(server.issuer, interaction.params)
    return server.get_consent_grant(request=request, end_user=login.user if login else None)


def _run(server: Server, interaction: Interaction, login: Login | None) -> Outcome:
    try:
        grant = _validate(server, interaction, login)
    except OAuth2Error as error:
        return _error(server, error, interaction)
    try:
        target = _checked(server, interaction, grant)
        choice = _choice(interaction, grant, login)
        step = decide(interaction, _facts(server, interaction, grant, login, choice))
        unmet = orgs.second_factor_missing(choice, step is Next.ISSUE, interaction.prompts)
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        return _error(server, error, interaction)
    if step is Next.ISSUE and not unmet:
        assert login is not None
        return _issue(server, interaction, grant, login, target, choice)
    if not _saved(server, interaction):
        return UNAVAILABLE
    if unmet:
        return SetUpSecondFactor(interaction.uid, unmet)
    if step is Next.SIGN_IN:
        return SignIn(interaction.uid, interaction.param("login_hint") or None)
    if step is Next.STEP_UP:
        return StepUp(interaction.uid)
    return GoToConsent(interaction.uid)


def _checked(server: Server, interaction: Interaction, grant: Any) -> Target:
    """What we refuse beyond Authlib's checks; the resources the request names."""
    if interaction.param("request") is not None:
        raise RequestNotSupported(redirect_uri=grant.redirect_uri)
    if interaction.param("request_uri") is not None:
        raise RequestUriNotSupported(redirect_uri=grant.redirect_uri)
    if interaction.param("response_mode") not in {None, *RESPONSE_MODES}:
        raise InvalidRequestError("response_mode must be query or form_post.")
    target = _target(server, interaction, grant)
    requested_claims(interaction.param("claims"))  # Core §5.5: refuse a malformed one now
    return target


def _choice(interaction: Interaction, grant: Any, login: Login | None) -> orgs.Choice:
    """The organizations the person may give the app (`AccessDenied` when the client is only
    for organizations they are not in), and the one chosen."""
    if login is None:
        return orgs.Choice(False, [], None, False)
    try:
        return orgs.choose(
            login.user,
            grant.client,
            interaction.scopes,
            interaction.organization_id,
            login.session.id,
        )
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        raise


def _facts(
    server: Server,
    interaction: Interaction,
    grant: Any,
    login: Login | None,
    choice: orgs.Choice,
) -> Facts:
    resources = interaction.resources or [""]
    consented: frozenset[str] = frozenset()
    if login is not None:
        consented = frozenset.intersection(
            *(frozenset(consent.remembered(login.user, grant.client, r)) for r in resources)
        )
    return Facts(
        login=login.session if login else None,
        subject=subject(login.user) if login else None,
        hinted_subject=_hinted_subject(server, interaction),
        consented=consented,
        first_party=bool(grant.client.first_party),
        now=time.time(),
        claim_scopes=frozenset(_consent_scopes(interaction, grant.client)),
        organization_pending=choice.pending,
    )


def _issue(
    server: Server,
    interaction: Interaction,
    grant: Any,
    login: Login,
    target: Target,
    choice: orgs.Choice,
) -> Outcome:
    """The code, with how the user signed in (saved by idp.oauth.grants)."""
    wanted = acr.requested(interaction.param("acr_values"), interaction.param("claims"))
    amr = tuple(login.session.amr) or ("pwd",)
    grant.request.sign_in = SignInContext(
        session_id=login.session.id,
        auth_time=login.session.authenticated_at,
        amr=amr,
        acr=acr.achieved(wanted, amr),
        claims=_claims_by_name(interaction, grant.client),
        resources=tuple(target.uris),
        organization_id=choice.chosen.organization_id if choice.chosen else None,
    )
    response = server.create_authorization_response(
        request=grant.request, grant_user=login.user, grant=grant
    )
    _forget(server, interaction)  # the code is stored: from here on nothing may fail
    location = response.headers["Location"]
    return respond(location, interaction.param("response_mode"), server.issuer)


def _claims_by_name(interaction: Interaction, client: Any) -> dict[str, list[str]]:
    """What the `claims` parameter asks of each target (Core §5.5), without the claims of
    scopes the client may not ask for: a provider need not return a requested claim (§5.5.1)."""
    own = set(client.own_scope.split()) | {None}
    asked = requested_claims(interaction.param("claims"))
    kept = {target: [n for n in names if scope_of(n) in own] for target, names in asked.items()}
    return {target: names for target, names in kept.items() if names}


def _consent_scopes(interaction: Interaction, client: Any) -> list[str]:
    """The scopes the person allows: those requested, and those releasing the claims asked for
    by name, so that no claim reaches the client unseen."""
    named = [scope_of(n) for names in _claims_by_name(interaction, client).values() for n in names]
    return list(dict.fromkeys(interaction.scopes + [s for s in named if s]))


def _target(server: Server, interaction: Interaction, grant: Any) -> Target:
    """RFC 8707 §2: the resources the request names, checked before the user sees anything;
    scopes beyond the client's registration must be ones those resources accept."""
    try:
        target = target_of(
            interaction.resources,
            allow_unregistered=server.settings.allow_unregistered_resources,
        )
        check_scopes(" ".join(interaction.scopes), grant.client.own_scope, target)
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        raise
    return target


def ascii_host(uri: str) -> str:
    """The host (and port) `uri` sends the browser to, as DNS sees it: an internationalised
    name in its ASCII form (IDNA, RFC 5891), so a look-alike of a familiar name shows as the
    different name it is: "xn--xample-2of.com", not example.com with a Cyrillic first letter."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    try:
        host = idna.encode(host, uts46=True).decode("ascii") if not host.isascii() else host
    except idna.IDNAError:
        host = host.encode("ascii", "backslashreplace").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return host if parts.port is None else f"{host}:{parts.port}"


def _origin(client: Any) -> str:
    """How the client came to be, in the words of the consent page."""
    if names_document(client.client_id):
        host = urlsplit(client.client_id).hostname
        return f"This app is identified by a metadata document at {host}."
    if client.dynamic:
        return "This app registered itself."
    return "This app was registered by the administrator."


def _described(scopes: list[str], target: Target) -> list[tuple[str, str]]:
    """Each scope in plain words: the resource's description, else the OpenID Connect one."""
    described = []
    for scope in scopes:
        words = next((r.scopes[scope] for r in target.registered if r.scopes.get(scope)), "")
        described.append((scope, words or DESCRIPTIONS.get(scope, scope)))
    return described


def _load(server: Server, uid: str) -> Interaction | ErrorPage:
    """The saved request; an error page, before anything is stored, when it cannot be read."""
    try:
        interaction = Interaction.load(server.store, uid)
    except StoreUnavailable:
        log.warning("cannot load an authorization request: the store is unavailable")
        return UNAVAILABLE
    return EXPIRED if interaction is None else interaction


def _saved(server: Server, interaction: Interaction) -> bool:
    try:
        interaction.save(server.store)
    except StoreUnavailable:
        log.warning("cannot save an authorization request: the store is unavailable")
        return False
    return True


def _forget(server: Server, interaction: Interaction) -> None:
    """The request was answered; it would expire anyway (a new one can start again)."""
    try:
        server.store.delete("interaction:" + interaction.uid)
    except StoreUnavailable:
        log.warning("cannot forget an answered authorization request: the store is unavailable")


def _hinted_subject(server: Server, interaction: Interaction) -> str | None:
    hint = interaction.param("id_token_hint")
    if not hint:
        return None
    claims = server.tokens.verify(hint, typ="JWT", allow_expired=True)
    if claims is None:
        raise InvalidRequestError("id_token_hint is not an ID token issued here.")
    return str(claims.get("sub"))


def _error(server: Server, error: OAuth2Error, interaction: Interaction) -> Respond | ErrorPage:
    state, mode = interaction.param("state"), interaction.param("response_mode")
    return error_response(error, state, mode, server.issuer)
