"""`idp serve` and `idp db upgrade`: run the development server and migrate the schema.

Production runs granian with `idp.wsgi:app` instead of `idp serve`.
"""

from __future__ import annotations

import click
from werkzeug.serving import run_simple

from idp import db
from idp.cli.common import app_context, env_has, load_settings, safe_url
from idp.settings import DEVELOPMENT


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Run the development server on embedded defaults (SQLite, no Redis needed).

    The database is created and migrated on start. For production run granian with
    `idp.wsgi:app` (see the README).
    """
    shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    overrides = {} if env_has("IDP_ISSUER") else {"issuer": f"http://{shown_host}:{port}"}
    settings = load_settings(**overrides)
    if settings.env == DEVELOPMENT:
        click.secho(
            "*** DEVELOPMENT MODE: generated secret, relaxed checks. Do not expose this server. "
            "Set IDP_ENV=production and run granian for real use. ***",
            fg="yellow",
            bold=True,
            err=True,
        )
    if settings.env == DEVELOPMENT or settings.uses_embedded_database:
        _upgrade(settings.database_url)
    with app_context(settings) as app:
        click.echo(
            f"Issuer {settings.issuer} -- database {safe_url(settings.database_url)}", err=True
        )
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    settings = load_settings()
    _upgrade(settings.database_url)
    click.echo(f"Database is up to date ({safe_url(settings.database_url)}).")


def _upgrade(database_url: str) -> None:
    try:
        db.upgrade(database_url)
    except db.DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
