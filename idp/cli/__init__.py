"""The `idp` command: one click group built from one module per noun.

`serve` and `db upgrade` (serve.py), `users` (users.py), `clients` (clients.py), `resources`
(resources.py), `keys` (keys.py), `providers` (providers.py) and `saml-sps` (saml.py); what
they share (settings, app context) is in common.py.
Every failure prints one line and exits non-zero; settings come from the environment.
"""

from __future__ import annotations

import sys

import click

from idp.cli.clients import clients
from idp.cli.keys import keys
from idp.cli.providers import providers
from idp.cli.resources import resources
from idp.cli.saml import saml_sps
from idp.cli.serve import db_group, serve
from idp.cli.users import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """A self-hosted OAuth 2.1 / OpenID Connect identity provider.

    Settings come from IDP_* environment variables, DATABASE_URL and REDIS_URL.
    """


for command in (serve, db_group, users, clients, resources, keys, providers, saml_sps):
    cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
