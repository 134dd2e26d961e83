"""Creating users and changing roles: the service the CLI (and later the forms) call.

Functions flush and never commit; the caller commits once.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from app.accounts.passwords import hash_password, password_problems
from app.extensions import db
from app.models import ROLES, User
from app.models.user import DISPLAY_NAME_LENGTH, EMAIL_LENGTH


class AccountError(ValueError):
    """The request cannot be carried out; the message says why, for people."""


def normalise_email(email: str) -> str:
    """The address as stored: checked for shape (no DNS lookup), lower-cased."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"That email address is not valid: {exc}") from None
    normalised = checked.normalized.lower()
    if len(normalised) > EMAIL_LENGTH:
        raise AccountError(f"Email addresses are limited to {EMAIL_LENGTH} characters.")
    return normalised


def find_user(email: str) -> User | None:
    try:
        normalised = normalise_email(email)
    except AccountError:
        return None
    return db.session.scalar(db.select(User).where(User.email == normalised))


def create_user(email: str, display_name: str, password: str, role: str = "learner") -> User:
    email = normalise_email(email)
    display_name = " ".join(display_name.split())
    if not display_name:
        raise AccountError("A display name is required.")
    if len(display_name) > DISPLAY_NAME_LENGTH:
        raise AccountError(f"Display names are limited to {DISPLAY_NAME_LENGTH} characters.")
    check_role(role)
    problems = password_problems(password, email, display_name)
    if problems:
        raise AccountError(problems[0])
    if find_user(email) is not None:
        raise AccountError("An account with that email address already exists.")
    user = User(
        email=email, display_name=display_name, password_hash=hash_password(password), role=role
    )
    db.session.add(user)
    db.session.flush()
    return user


def check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")


def set_role(email: str, role: str) -> User:
    user = find_user(email)
    if user is None:
        raise AccountError(f"No account with the email address {email!r}.")
    return change_role(user, role)


def change_role(user: User, role: str) -> User:
    """Give ``user`` a role; the last admin cannot stop being one (someone must manage)."""
    check_role(role)
    if user.role == "admin" and role != "admin":
        admins = db.session.scalar(db.select(db.func.count(User.id)).where(User.role == "admin"))
        if admins <= 1:
            raise AccountError(
                f"{user.email} is the only admin. Make another account an admin first."
            )
    user.role = role
    db.session.flush()
    return user
