"""GET /metrics (Prometheus text format), and the timing of every request.

Off unless `IDP_METRICS_TOKEN` is set: then /metrics does not exist (404) and requests are not
timed. When set, a scrape must send `Authorization: Bearer <token>` (compared in constant
time), or it is answered 401. The metrics themselves live in idp.core.metrics.
"""

from __future__ import annotations

import time
from typing import cast

from flask import Blueprint, Flask, Request, Response, request
from flask_limiter import Limiter
from werkzeug.local import LocalProxy

from idp.core import metrics
from idp.core.security import same
from idp.settings import app_settings

bp = Blueprint("metrics", __name__)
STARTED = "idp.metrics.started"


@bp.get("/metrics")
def scrape() -> Response:
    given = request.headers.get("Authorization", "")
    if not same(given, "Bearer " + app_settings().metrics_token):
        response = Response("unauthorized\n", 401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.scrape()
    response = Response(body, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _start() -> None:
    request.environ[STARTED] = time.perf_counter()


def _observe(response: Response) -> Response:
    # One look through the proxy: this runs on every request, and each look costs.
    current: Request = cast("LocalProxy[Request]", request)._get_current_object()
    started = current.environ.get(STARTED)
    if started is not None:
        seconds = time.perf_counter() - started
        metrics.observe_request(current.endpoint, current.method, response.status_code, seconds)
    return response


def init_app(app: Flask, limiter: Limiter) -> None:
    if not app.extensions["idp.settings"].metrics_token:
        return
    limiter.exempt(bp)
    app.register_blueprint(bp)
    # The clock starts before every other hook, and stops after every other one.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _observe)
