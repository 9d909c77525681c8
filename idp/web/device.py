"""(Being built: the device authorization grant.)"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_limiter import Limiter

bp = Blueprint("device", __name__)


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
