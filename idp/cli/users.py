"""`idp users create`, `idp users list` and `idp users set-admin`: accounts from the command
line (`create --admin` makes the first administrator)."""

from __future__ import annotations

import click

from idp.admin import moderation
from idp.cli.common import app_context, load_settings
from idp.core.audit import Event
from idp.errors import IdpError
from idp.identity import users as accounts


@click.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password (asked for when not given).",
)
@click.option("--name", default=None, help="Display name (default: the part before the @).")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
def users_create(email: str, password: str, name: str | None, admin: bool) -> None:
    """Create an account with EMAIL."""
    with app_context(load_settings()):
        try:
            user = accounts.create_user(
                email,
                name or email.split("@", 1)[0],
                password,
                is_admin=admin,
                event=Event.USER_CREATED,
            )
        except IdpError as error:
            raise click.ClickException(f"{error.field or 'user'}: {error.message}") from None
        click.echo(f"Created user {user.id} <{user.email}>{' (admin)' if user.is_admin else ''}.")


@users.command("list")
def users_list() -> None:
    """List every account."""
    with app_context(load_settings()):
        rows = accounts.list_users()
        if not rows:
            click.echo("No users yet.")
            return
        click.echo(f"{'ID':>5}  {'EMAIL':<40} {'NAME':<30} ADMIN  CREATED")
        for user in rows:
            click.echo(
                f"{user.id:>5}  {user.email:<40} {user.name[:30]:<30} "
                f"{'yes' if user.is_admin else 'no ':<5}  {user.created_at:%Y-%m-%d %H:%M}"
            )


@users.command("set-admin")
@click.argument("email")
@click.option("--off", is_flag=True, help="Take the admin role away instead.")
def users_set_admin(email: str, off: bool) -> None:
    """Give the account with EMAIL the admin role (or take it with --off)."""
    with app_context(load_settings()):
        user = accounts.find_by_email(email.strip().lower())
        if user is None:
            raise click.ClickException(f"No account with the email {email}.")
        changed = moderation.set_admin(user, not off, admin=None)
        if changed:
            click.echo(f"{user.email} is {'no longer' if off else 'now'} an admin.")
        else:
            click.echo(f"{user.email} is already {'not ' if off else ''}an admin.")
