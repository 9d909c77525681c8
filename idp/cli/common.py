"""What every `idp` command shares: reading the settings and entering an app context.

A bad setting or an unreachable database becomes one `Error:` line and exit status 1. The
commands themselves live in the sibling modules, one per noun.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from sqlalchemy.engine import make_url

from idp import db
from idp.app import create_app
from idp.settings import Settings, SettingsError


def load_settings(**overrides: str) -> Settings:
    """The settings from the environment, with `overrides`; a bad one stops the command."""
    try:
        settings = Settings.from_env()
        return settings.replace(**overrides) if overrides else settings
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def app_context(settings: Settings) -> Iterator[Flask]:
    """An app built from `settings`, inside its app context; the database must answer."""
    try:
        db.check_connection(settings.database_url)
    except db.DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    app = create_app(settings)
    with app.app_context():
        yield app


def env_has(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


def safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
