"""Friendly error pages (400, 403, 404, 405, 429, 500), or JSON for clients that ask for it.

Unexpected exceptions become a 500 with a request id; the traceback goes to the log only.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from idp.api.problems import is_api_request, problem
from idp.core.ratelimit import retry_at
from idp.db import db

log = logging.getLogger(__name__)

PAGES: dict[int, tuple[str, str]] = {
    400: ("Something in the request was wrong", "Go back, check what you entered and try again."),
    403: ("You can't do that", "Your account is not allowed to open this page."),
    404: ("Page not found", "The address may be mistyped, or the page may have moved."),
    405: ("That didn't work", "This page can't be used that way. Go back and try again."),
    413: ("Too much data", "What you sent is larger than we accept."),
    429: ("Too many attempts", "Please wait a little before trying again."),
    500: ("Something went wrong on our side", "We have logged the problem. Please try again."),
    503: ("Temporarily unavailable", "Please try again in a little while."),
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def render_error(
    status: int, message: str | None = None, **extra: str
) -> tuple[str | Response, int]:
    title, default_message = PAGES.get(status, PAGES[400])
    body = message or default_message
    if _wants_json():
        return jsonify(error=title, message=body, **extra), status
    return render_template(
        "errors/error.html", status=status, title=title, message=body, **extra
    ), status


def _http_error(error: HTTPException) -> Response:
    if is_api_request():
        response = problem(error.code or 500, error.description or "")
    else:
        response = make_response(render_error(error.code or 500))
    # Keep what the exception says about itself, such as `Allow` on a 405 (RFC 9110 §15.5.6).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _csrf_error(_error: CSRFError) -> tuple[str | Response, int]:
    return render_error(
        400, "This form expired or did not come from this site. Reload the page and try again."
    )


def _rate_limited(_error: HTTPException) -> Response:
    when = retry_at()
    if when is None:
        return make_response(render_error(429))
    seconds = max(1, int((when - datetime.now(UTC)).total_seconds()))
    wait = f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"
    response = make_response(
        render_error(
            429,
            f"Please wait {wait} before trying again (until {when:%H:%M:%S} UTC).",
            retry_after=str(seconds),
        )
    )
    response.headers["Retry-After"] = str(seconds)  # RFC 9110 §10.2.3
    return response


def _unexpected(error: Exception) -> tuple[str | Response, int] | Response:
    if isinstance(error, HTTPException) and not isinstance(error, InternalServerError):
        return _http_error(error)
    request_id = uuid.uuid4().hex[:12]
    log.exception("unhandled error, request id %s", request_id, exc_info=error)
    db.session.rollback()
    if is_api_request():
        return problem(500, f"Something went wrong on our side (request id {request_id}).")
    return render_error(500, request_id=request_id)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(429, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
