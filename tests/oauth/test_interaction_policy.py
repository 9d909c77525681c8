"""The interaction policy alone (idp.oauth.interaction.decide): no app, no database.

Each row is one authorization request and what is known besides it (`Facts`), and the answer:
sign in, step up, consent, issue a code, or the error `prompt=none` turns a question into.
OpenID Connect Core §3.1.2.1 defines `prompt`, `max_age`, `acr_values` and `id_token_hint`;
§3.1.2.6 the errors.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)

from idp.identity.sessions import ActiveSession
from idp.oauth.interaction import Facts, Interaction, Next, decide

NOW = 1_800_000_000.0
SIGNED_IN_AT = NOW - 600  # ten minutes ago
REQUESTED_AT = NOW - 60  # the request came after the sign-in
MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


def session(amr: tuple[str, ...] = ("pwd",), at: float = SIGNED_IN_AT) -> ActiveSession:
    when = datetime.fromtimestamp(at, UTC)
    return ActiveSession(1, 7, "hash", when, when, when, remember=False, amr=amr)


SIGNED_IN = Facts(
    login=session(),
    subject="alice",
    hinted_subject=None,
    consented=frozenset({"openid", "profile"}),
    first_party=False,
    now=NOW,
)
ANONYMOUS = replace(SIGNED_IN, login=None, subject=None, consented=frozenset())


def interaction(
    consented: bool = False, created_at: float = REQUESTED_AT, **params: str
) -> Interaction:
    pairs = list({"scope": "openid profile", **params}.items())
    return Interaction("uid", pairs, created_at=created_at, consented=consented)


ROWS = [
    # (why, request, facts, answer) — every row: OpenID Connect Core §3.1.2.1
    ("nobody signed in: sign in", interaction(), ANONYMOUS, Next.SIGN_IN),
    ("signed in, consent remembered: issue", interaction(), SIGNED_IN, Next.ISSUE),
    (
        "prompt=none, nobody signed in: login_required",
        interaction(prompt="none"),
        ANONYMOUS,
        LoginRequiredError,
    ),
    (
        "prompt=none, signed in and consented: issue",
        interaction(prompt="none"),
        SIGNED_IN,
        Next.ISSUE,
    ),
    (
        "prompt=none with another value: invalid_request",
        interaction(prompt="none login"),
        SIGNED_IN,
        InvalidRequestError,
    ),
    (
        "prompt=login, session older than the request: sign in again",
        interaction(prompt="login"),
        SIGNED_IN,
        Next.SIGN_IN,
    ),
    (
        "prompt=login, signed in after the request: issue",
        interaction(prompt="login", created_at=SIGNED_IN_AT - 1),
        SIGNED_IN,
        Next.ISSUE,
    ),
    (
        "prompt=select_account, session older than the request: sign in",
        interaction(prompt="select_account"),
        SIGNED_IN,
        Next.SIGN_IN,
    ),
    (
        "prompt=select_account, chosen after the request: issue",
        interaction(prompt="select_account", created_at=SIGNED_IN_AT - 1),
        SIGNED_IN,
        Next.ISSUE,
    ),
    (
        "prompt=consent, consent remembered: ask again",
        interaction(prompt="consent"),
        SIGNED_IN,
        Next.CONSENT,
    ),
    (
        "prompt=consent, the user just answered: issue",
        interaction(consented=True, prompt="consent"),
        SIGNED_IN,
        Next.ISSUE,
    ),
    (
        "prompt=consent, first-party client: still ask",
        interaction(prompt="consent"),
        replace(SIGNED_IN, first_party=True),
        Next.CONSENT,
    ),
    (
        "new scope not consented: consent",
        interaction(scope="openid email"),
        SIGNED_IN,
        Next.CONSENT,
    ),
    (
        "a claim asked for by name, its scope not consented: consent (Core §5.5)",
        interaction(),
        replace(SIGNED_IN, claim_scopes=frozenset({"email"})),
        Next.CONSENT,
    ),
    (
        "nothing consented yet: consent",
        interaction(),
        replace(SIGNED_IN, consented=frozenset()),
        Next.CONSENT,
    ),
    (
        "first-party client: no consent",
        interaction(),
        replace(SIGNED_IN, consented=frozenset(), first_party=True),
        Next.ISSUE,
    ),
    (
        "prompt=none, consent needed: consent_required",
        interaction(prompt="none", scope="openid email"),
        SIGNED_IN,
        ConsentRequiredError,
    ),
    ("max_age exceeded: sign in again", interaction(max_age="300"), SIGNED_IN, Next.SIGN_IN),
    ("max_age not exceeded: issue", interaction(max_age="3600"), SIGNED_IN, Next.ISSUE),
    (
        "max_age=0, signed in before the request: sign in again",
        interaction(max_age="0"),
        SIGNED_IN,
        Next.SIGN_IN,
    ),
    (
        "max_age=0, signed in during the request: issue (Core §3.1.2.1, as prompt=login)",
        interaction(max_age="0", created_at=SIGNED_IN_AT - 1),
        SIGNED_IN,
        Next.ISSUE,
    ),
    (
        "max_age passed while signing in during the request: issue",
        interaction(max_age="300", created_at=SIGNED_IN_AT - 1),
        SIGNED_IN,
        Next.ISSUE,
    ),
    ("max_age empty: ignored", interaction(max_age=""), SIGNED_IN, Next.ISSUE),
    (
        "max_age exceeded with prompt=none: login_required",
        interaction(max_age="300", prompt="none"),
        SIGNED_IN,
        LoginRequiredError,
    ),
    (
        "max_age not a number: invalid_request",
        interaction(max_age="soon"),
        SIGNED_IN,
        InvalidRequestError,
    ),
    (
        "max_age negative: invalid_request",
        interaction(max_age="-1"),
        SIGNED_IN,
        InvalidRequestError,
    ),
    (
        "id_token_hint names another user: sign in",
        interaction(),
        replace(SIGNED_IN, hinted_subject="bob"),
        Next.SIGN_IN,
    ),
    (
        "id_token_hint names this user: issue",
        interaction(),
        replace(SIGNED_IN, hinted_subject="alice"),
        Next.ISSUE,
    ),
    (
        "id_token_hint names another user, prompt=none: login_required",
        interaction(prompt="none"),
        replace(SIGNED_IN, hinted_subject="bob"),
        LoginRequiredError,
    ),
    ("acr_values=2, one factor: step up", interaction(acr_values="2"), SIGNED_IN, Next.STEP_UP),
    (
        "acr_values=2, two factors: issue",
        interaction(acr_values="2"),
        replace(SIGNED_IN, login=session(("pwd", "otp", "mfa"))),
        Next.ISSUE,
    ),
    (
        "acr_values=PAPE multi-factor, one factor: step up",
        interaction(acr_values=MFA),
        SIGNED_IN,
        Next.STEP_UP,
    ),
    (
        "acr_values=1 2, one factor meets 1: issue",
        interaction(acr_values="1 2"),
        SIGNED_IN,
        Next.ISSUE,
    ),
    (
        "acr_values unknown: as if none were asked",
        interaction(acr_values="gold"),
        SIGNED_IN,
        Next.ISSUE,
    ),
    (
        "acr_values=2 with prompt=none: interaction_required",
        interaction(acr_values="2", prompt="none"),
        SIGNED_IN,
        InteractionRequiredError,
    ),
    (
        "acr_values=2, nobody signed in: sign in first",
        interaction(acr_values="2"),
        ANONYMOUS,
        Next.SIGN_IN,
    ),
    (
        "step up comes before consent",
        interaction(acr_values="2", scope="openid email"),
        SIGNED_IN,
        Next.STEP_UP,
    ),
    (
        "organization scope, an organization to choose or to allow: consent",
        interaction(),
        replace(SIGNED_IN, organization_pending=True),
        Next.CONSENT,
    ),
    (
        "organization scope pending, prompt=none: consent_required",
        interaction(prompt="none"),
        replace(SIGNED_IN, organization_pending=True),
        ConsentRequiredError,
    ),
    (
        "organization chosen and allowed on the consent page just now: issue",
        interaction(consented=True),
        replace(SIGNED_IN, organization_pending=True),
        Next.ISSUE,
    ),
]


@pytest.mark.parametrize(
    ("request_", "facts", "answer"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS]
)
def test_the_policy(request_: Interaction, facts: Facts, answer: object) -> None:
    if isinstance(answer, Next):
        assert decide(request_, facts) is answer
    else:
        with pytest.raises(answer):  # type: ignore[call-overload]
            decide(request_, facts)
