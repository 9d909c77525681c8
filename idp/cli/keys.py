"""`idp keys rotate` and `idp keys list`: rotate and inspect the signing keys in IDP_KEYS_DIR.

A bad setting or an unusable key folder prints one line and exits 1; a bad option gets
click's usage hint above its one `Error:` line and exits 2, like the rest of `idp`. The key
store itself is `idp.keys`, which knows nothing of click or the app.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import click
from sqlalchemy.exc import SQLAlchemyError

from idp.app import create_app
from idp.core.audit import Event, record
from idp.db import DatabaseUnavailable, check_connection, db
from idp.keys import (
    ALGORITHMS,
    KeyInfo,
    KeyState,
    KeyStore,
    KeyStoreError,
    access_key_store,
    key_store,
)
from idp.keys.saml import saml_key_store
from idp.settings import Settings, SettingsError


def _store() -> KeyStore:
    try:
        return key_store(Settings.from_env())
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _access_store() -> KeyStore:
    try:
        store = access_key_store(Settings.from_env())
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    if store is None:
        raise click.ClickException(
            "Access tokens use the ID tokens' keys: IDP_ACCESS_TOKEN_ALG is unset or the same "
            "as IDP_SIGNING_ALG."
        )
    return store


def _saml_store() -> KeyStore:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    shared = key_store(settings)
    store = saml_key_store(settings, shared)
    if store is shared:
        raise click.ClickException(
            "SAML signs with the ID tokens' keys: IDP_SIGNING_ALG is RS256. Rotate those."
        )
    return store


def _not_negative(seconds: int | None) -> int | None:
    if seconds is not None and seconds < 0:
        raise click.BadParameter(f"{seconds} is negative; give 0 or more seconds.")
    return seconds


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


@click.group()
def keys() -> None:
    """Rotate and list the signing keys (IDP_KEYS_DIR)."""


@keys.command("rotate")
@click.option(
    "--alg",
    type=click.Choice(ALGORITHMS),
    default=None,
    help="Algorithm of the new key. Default: IDP_SIGNING_ALG.",
)
@click.option(
    "--activate-after",
    type=int,
    default=None,
    metavar="SECONDS",
    callback=lambda _ctx, _param, value: _not_negative(value),
    help="Seconds from now until the new key signs. Default: IDP_JWKS_MAX_AGE + 60, "
    "so that every client's cached JWKS has it first.",
)
@click.option(
    "--access-tokens",
    is_flag=True,
    help="Rotate the access tokens' own keys (when IDP_ACCESS_TOKEN_ALG gives them some).",
)
@click.option(
    "--saml",
    is_flag=True,
    help="Rotate the SAML identity provider's own RSA keys (when IDP_SIGNING_ALG is not RS256).",
)
def rotate(alg: str | None, activate_after: int | None, access_tokens: bool, saml: bool) -> None:
    """Add a signing key: published now, signing later.

    The new key is in the JWKS at once and signs from its activation time; the key it
    replaces stays published until every token it signed has expired.
    """
    try:
        store = _access_store() if access_tokens else _saml_store() if saml else _store()
        info = store.rotate("RS256" if saml else alg, activate_after)
    except KeyStoreError as error:
        raise click.ClickException(str(error)) from None
    wait = max(0, math.ceil((info.activates_at - datetime.now(UTC)).total_seconds()))
    click.echo(f"Created signing key {info.kid} ({info.alg}).")
    soon = f"in {wait} s" if wait else "now"
    click.echo(f"Published in the JWKS now; signs from {_when(info.activates_at)} ({soon}).")
    _audit(info)


def _audit(info: KeyInfo) -> None:
    """A rotation is a security event for the audit log. The key exists whatever happens here."""
    settings = Settings.from_env()
    try:
        check_connection(settings.database_url)
        with create_app(settings).app_context():
            record(
                Event.KEY_ROTATED,
                subject=info.kid,
                alg=info.alg,
                activates_at=info.activates_at.isoformat(),
            )
            db.session.commit()
    except (DatabaseUnavailable, SQLAlchemyError) as error:
        reason = str(error).splitlines()[0]
        click.echo(f"Warning: the rotation was not written to the audit log: {reason}", err=True)


@keys.command("list")
def list_keys() -> None:
    """List the signing keys and their states.

    pending: published, not signing yet; active: signs now; retiring: superseded, published
    until its tokens expire; expired: no longer published.
    """
    store = _store()
    try:
        rows = store.keys()
    except KeyStoreError as error:
        raise click.ClickException(str(error)) from None
    if not rows:
        click.echo(f"No signing keys in {store.directory} yet; the app creates one when it starts.")
        return
    click.echo(
        f"{'KID':<43}  {'ALG':<5}  {'STATE':<8}  {'CREATED':<23}  "
        f"{'ACTIVATES/ACTIVATED':<23}  PUBLISHED"
    )
    for info in rows:
        click.echo(
            f"{info.kid:<43}  {info.alg:<5}  {info.state:<8}  {_when(info.created_at):<23}  "
            f"{_when(info.activates_at):<23}  {_published(info)}"
        )


def _published(info: KeyInfo) -> str:
    if info.state is KeyState.RETIRING and info.published_until is not None:
        return f"yes, until {_when(info.published_until)}"
    return "yes" if info.published else "no"
