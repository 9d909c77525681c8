"""(Being built: see the account-security brief.)"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_limiter import Limiter

bp = Blueprint("two_factor", __name__)


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)


@bp.get("/sign-in/second-factor")
def second_factor() -> str:
    return "Second factor."


def security_context(user: object) -> dict[str, object]:
    """What templates/account/_two_factor.html needs."""
    return {}
