"""Security headers on every response.

The Content-Security-Policy allows scripts, styles and images from our own origin only (no
inline script), and forbids framing (`frame-ancestors 'none'`). It sets no `form-action`:
browsers apply it to the redirects that follow a form post, and signing in or consenting
ends in a redirect to the client's registered redirect URI.
HTML is never cached: it may carry a CSRF token or account details. Pages whose URL carries a
secret (a link from an email, a device's user code) send no Referer at all: not even to this
site, whose logs and analytics need not learn it.

`HEAD` of any page answers as `GET` would, without the body (RFC 9110 §9.3.2): the view runs
as for `GET`, and Werkzeug leaves out the body of the answer to a `HEAD`.
"""

from __future__ import annotations

from flask import Flask, Response, request

from idp.settings import app_settings

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",  # client logos (https only) on the consent page
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=63072000; includeSubDomains"  # on every answer over HTTPS, lean ones too
# Endpoints whose URL carries a secret: sign-in, reset, verification and email-change links;
# the device page (`?user_code=`, RFC 8628 §3.3.1).
SECRET_IN_URL = {
    "email_sign_in.open_link",
    "recovery.reset_page",
    "recovery.reset",
    "verification.verify_page",
    "verification.confirm_change_page",
    "device.enter",
}


def _head_as_get() -> None:
    if request.method == "HEAD":
        request.method = "GET"


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Same-origin only: our own form posts carry a Referer (Flask-WTF checks it over HTTPS);
    # other sites never learn our URLs.
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint in SECRET_IN_URL:
        headers["Referrer-Policy"] = "no-referrer"
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if app_settings().is_https:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype == "text/html":
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.before_request(_head_as_get)
    app.after_request(_add_headers)
