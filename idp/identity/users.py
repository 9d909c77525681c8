"""Accounts: sign-up, password sign-in, profile and password changes.

Every function here validates its input, changes the database and writes the audit event in
one transaction; on failure it raises an `IdpError` and leaves the database as it was.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import EmailTaken, InvalidCredentials, InvalidInput
from idp.identity.models import User
from idp.identity.passwords import hash_password, needs_rehash, policy_problem, verify_password

MAX_NAME_LENGTH = 200
WRONG_CREDENTIALS = "The email or password is incorrect."


def normalise_email(raw: str) -> str:
    """Trim and lower-case an address, after checking its syntax."""
    candidate = raw.strip()
    if not candidate:
        raise InvalidInput("Enter your email address.", field="email")
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(
            "Enter a valid email address, like name@example.com.", field="email"
        ) from None
    return valid.normalized.lower()


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("Enter your name.", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"Use at most {MAX_NAME_LENGTH} characters.", field="name")
    return name


def check_new_password(password: str, field: str = "password") -> None:
    problem = policy_problem(password)
    if problem:
        raise InvalidInput(problem, field=field)


# Built once: building a statement and its cache key costs more than the read it makes.
_BY_EMAIL = select(User).where(User.email == bindparam("email"))


def find_by_email(email: str) -> User | None:
    return db.session.scalar(_BY_EMAIL, {"email": email})


def create_user(
    email: str, name: str, password: str, *, is_admin: bool = False, event: Event = Event.SIGN_UP
) -> User:
    """Create an account; raises `InvalidInput` or `EmailTaken`."""
    email = normalise_email(email)
    name = clean_name(name)
    check_new_password(password)
    if find_by_email(email) is not None:
        raise EmailTaken("An account with this email already exists.", field="email")
    user = User(email=email, name=name, password_hash=hash_password(password), is_admin=is_admin)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # Another request created the same email between our check and the insert.
        db.session.rollback()
        raise EmailTaken("An account with this email already exists.", field="email") from None
    record(event, user_id=user.id, subject=email)
    db.session.commit()
    return user


def authenticate(raw_email: str, password: str) -> User:
    """Check an email and password; the failure says the same whichever was wrong."""
    try:
        email = normalise_email(raw_email)
    except InvalidInput:
        email = raw_email.strip().lower()[:320]
    user = find_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        record(Event.SIGN_IN_FAILED, user_id=user.id if user else None, subject=email)
        db.session.commit()
        raise InvalidCredentials(WRONG_CREDENTIALS, detail=f"email={email}")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def update_profile(user: User, name: str) -> None:
    user.name = clean_name(name)
    record(Event.PROFILE_CHANGED, user_id=user.id, subject=user.email)
    db.session.commit()


def set_password(user: User, new: str) -> None:
    """Set a new password (the caller checked the current one: `login.change_password`);
    raises `InvalidInput`."""
    check_new_password(new, field="new_password")
    user.password_hash = hash_password(new)
    record(Event.PASSWORD_CHANGED, user_id=user.id, subject=user.email)
    db.session.commit()


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(func.lower(User.email))))
