"""The account security page: two-factor, backup codes, trusted devices and passkeys.

Each section is its feature's own partial (`templates/account/_two_factor.html`,
`templates/account/_passkeys.html`) filled from that feature's `security_context`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request

from idp.settings import app_settings
from idp.web import passkeys, two_factor
from idp.web.current import current_login, current_user, login_required

bp = Blueprint("security", __name__, url_prefix="/account")


@bp.get("/security")
@login_required
def index() -> str:
    user = current_user()
    assert user is not None
    login = current_login()
    return render_template(
        "account/security.html",
        user=user,
        fresh=login is not None and login.is_fresh(app_settings().session_fresh_age),
        request_path=request.path,
        **two_factor.security_context(user),
        **passkeys.security_context(user),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
