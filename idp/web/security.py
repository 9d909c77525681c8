"""The account security page: two-factor, backup codes, trusted devices and passkeys.

Each section is its feature's own partial (`templates/account/_two_factor.html`,
`templates/account/_passkeys.html`); two-factor's context comes from idp.web.two_factor, the
passkeys' is built here. Forms of those sections that fail re-render the page with `page`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request

from idp.identity import passkeys
from idp.identity.models import User
from idp.settings import app_settings
from idp.web import two_factor
from idp.web.current import current_login, current_user, login_required

bp = Blueprint("security", __name__, url_prefix="/account")


@bp.get("/security")
@login_required
def index() -> str:
    return page()


def page(passkeys_rename_error: tuple[int, str, str] | None = None) -> str:
    """The page for the signed-in user; `passkeys_rename_error` re-shows a refused rename."""
    user = current_user()
    assert user is not None
    return render_template(
        "account/security.html",
        user=user,
        fresh=_fresh(),
        request_path=request.path,
        **two_factor.security_context(user),
        **_passkeys_context(user, passkeys_rename_error),
    )


def _passkeys_context(user: User, rename_error: tuple[int, str, str] | None) -> dict[str, object]:
    """What templates/account/_passkeys.html needs."""
    return {
        "passkeys_list": passkeys.passkeys_of(user),
        "passkeys_fresh": _fresh(),
        "passkeys_rename_error": rename_error,
        "passkeys_name_max": passkeys.NAME_MAX,
    }


def _fresh() -> bool:
    login = current_login()
    return login is not None and login.is_fresh(app_settings().session_fresh_age)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
