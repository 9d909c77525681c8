"""The HTML forms (Flask-WTF: CSRF token and fields). The services validate what is typed."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField

from idp.errors import IdpError
from idp.identity.passwords import MAX_LENGTH, MIN_LENGTH

PASSWORD_HINT = f"{MIN_LENGTH} to {MAX_LENGTH} characters; common passwords are refused."


class Form(FlaskForm):  # type: ignore[misc]
    def fail(self, error: IdpError) -> None:
        """Show a service error next to its field, or above the form."""
        field = self._fields.get(error.field or "")
        if field is not None:
            field.errors = [*field.errors, error.message]
        else:
            self.form_errors.append(error.message)


class SignInForm(Form):
    # "webauthn" lets the browser offer passkeys in the autofill list (conditional UI).
    email = EmailField("Email", render_kw={"autocomplete": "username webauthn", "required": True})
    password = PasswordField(
        "Password", render_kw={"autocomplete": "current-password", "required": True}
    )
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class SignUpForm(Form):
    name = StringField("Name", render_kw={"autocomplete": "name", "required": True})
    email = EmailField("Email", render_kw={"autocomplete": "email", "required": True})
    password = PasswordField(
        "Password",
        description=PASSWORD_HINT,
        render_kw={"autocomplete": "new-password", "required": True},
    )
    next = HiddenField()


class ConfirmForm(Form):
    password = PasswordField(
        "Password", render_kw={"autocomplete": "current-password", "required": True}
    )
    next = HiddenField()


class ProfileForm(Form):
    name = StringField("Name", render_kw={"autocomplete": "name", "required": True})


class PasswordForm(Form):
    current_password = PasswordField(
        "Current password", render_kw={"autocomplete": "current-password", "required": True}
    )
    new_password = PasswordField(
        "New password",
        description=PASSWORD_HINT,
        render_kw={"autocomplete": "new-password", "required": True},
    )
