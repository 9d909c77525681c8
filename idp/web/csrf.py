"""Cross-site request forgery: Flask-WTF's token on every form, and over HTTPS its check
that a post comes from this site (`WTF_CSRF_SSL_STRICT`).

Flask-WTF proves "from this site" by the Referer, which a page sending
`Referrer-Policy: no-referrer` (its URL carries a secret: idp.web.headers) never gives its
forms. For such a post, a browser's `Sec-Fetch-Site: same-origin` (Fetch Metadata; a header
pages cannot set) is the proof instead; the token is checked as always.
"""

from __future__ import annotations

from flask import current_app, g, request
from flask_wtf.csrf import CSRFProtect, validate_csrf
from wtforms import ValidationError


class Csrf(CSRFProtect):
    def protect(self, apply_exemptions: bool = False) -> None:
        if not _same_origin_without_referrer():
            super().protect(apply_exemptions)  # type: ignore[no-untyped-call]
            return
        try:
            validate_csrf(self._get_csrf_token())  # type: ignore[no-untyped-call]
        except ValidationError as error:
            self._error_response(error.args[0])  # type: ignore[no-untyped-call]
        g.csrf_valid = True


def _same_origin_without_referrer() -> bool:
    return (
        request.is_secure
        and request.method in current_app.config["WTF_CSRF_METHODS"]
        and not request.referrer
        and request.headers.get("Sec-Fetch-Site") == "same-origin"
    )
