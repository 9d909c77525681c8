"""Our expected failures: one base class with a stable code, a status and a safe message.

`message` is shown to the user; `detail` goes only to logs and the audit log. A field name,
when set, ties the message to a form field.
"""

from __future__ import annotations


class IdpError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail


class InvalidInput(IdpError):
    code = "invalid_input"


class EmailTaken(IdpError):
    code = "email_taken"


class InvalidCredentials(IdpError):
    code = "invalid_credentials"
    status = 401
