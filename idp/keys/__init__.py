"""Signing keys: a folder of encrypted JSON Web Keys, rotated without downtime.

`key_store(settings)` builds the one store the app and `idp keys` share. A rotated key is
published at once and signs only after `IDP_JWKS_MAX_AGE + 60` seconds, when every cached JWKS
has it; a superseded key stays published `IDP_MAX_TOKEN_LIFETIME + IDP_JWKS_MAX_AGE` seconds
more, until every token it signed has expired (OpenID Connect Core §10.1.1).
"""

from __future__ import annotations

from flask import Flask, current_app

from idp.keys.errors import KeyStoreError
from idp.keys.jwk import ALGORITHMS
from idp.keys.ring import KeyRing
from idp.keys.store import KeyInfo, KeyStore, SigningKey
from idp.keys.timeline import KeyState
from idp.settings import Settings

__all__ = [
    "ALGORITHMS",
    "KeyInfo",
    "KeyRing",
    "KeyState",
    "KeyStore",
    "KeyStoreError",
    "SigningKey",
    "access_key_store",
    "app_keys",
    "init_app",
    "key_store",
]

ACTIVATION_MARGIN = 60  # seconds on top of the JWKS cache lifetime, for slow clocks and fetches


def key_store(settings: Settings) -> KeyStore:
    """The key store that `settings` describe."""
    return KeyStore(
        settings.keys_dir,
        settings.secret_key,
        alg=settings.signing_alg,
        activation_delay=settings.jwks_max_age + ACTIVATION_MARGIN,
        retention=settings.max_token_lifetime + settings.jwks_max_age,
    )


def access_key_store(settings: Settings) -> KeyStore | None:
    """The access tokens' own keys when IDP_ACCESS_TOKEN_ALG names another algorithm than
    IDP_SIGNING_ALG: a key line of their own in the folder `access-<alg>` inside IDP_KEYS_DIR,
    rotated and published by the same rules. None when access tokens share the ID tokens' keys.
    """
    alg = settings.access_token_alg
    if not alg or alg == settings.signing_alg:
        return None
    return KeyStore(
        settings.keys_dir / f"access-{alg.lower()}",
        settings.secret_key,
        alg=alg,
        activation_delay=settings.jwks_max_age + ACTIVATION_MARGIN,
        retention=settings.max_token_lifetime + settings.jwks_max_age,
    )


def init_app(app: Flask, keys: KeyStore) -> None:
    app.extensions["idp.keys"] = keys


def app_keys() -> KeyStore:
    """The key store of the current app."""
    value: KeyStore = current_app.extensions["idp.keys"]
    return value
