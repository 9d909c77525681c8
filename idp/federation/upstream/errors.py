"""The one error every upstream failure becomes: a safe message, and a short stable `reason`
for the audit log (bad_state, iss_mismatch, bad_signature, nonce_mismatch, provider_error...)."""

from __future__ import annotations

from idp.errors import IdpError

UNREACHABLE = "The provider could not be reached, or answered something unusable. Try again."


class UpstreamError(IdpError):
    """Signing in with an upstream failed; `reason` names the check, for the audit log."""

    code = "upstream_failed"

    def __init__(self, reason: str, message: str, *, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.reason = reason
