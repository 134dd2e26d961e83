"""Account forms (Flask-WTF: every one carries a CSRF token).

No form has a role field: roles change only through ``flask users set-role``.
Passwords are checked against the policy in the views, where the email and display
name they must differ from are known.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from app.accounts.passwords import MAX_LENGTH
from app.accounts.users import AccountError, normalise_email
from app.models.user import DISPLAY_NAME_LENGTH, EMAIL_LENGTH

# Long enough to hold any allowed password plus NFKC growth; the policy gives the message.
PASSWORD_FIELD_LIMIT = MAX_LENGTH * 4


def _valid_email(form: FlaskForm, field: EmailField) -> None:
    try:
        normalise_email(field.data or "")
    except AccountError as exc:
        raise ValidationError(str(exc)) from None


def _email(label: str = "Email") -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired("Enter your email address."),
            Length(max=EMAIL_LENGTH, message=f"Use at most {EMAIL_LENGTH} characters."),
            _valid_email,
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


def _password(label: str, message: str = "Enter your password.") -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(message), Length(max=PASSWORD_FIELD_LIMIT)],
    )


def _display_name() -> StringField:
    return StringField(
        "Display name",
        validators=[
            DataRequired("Enter the name other people will see."),
            Length(
                max=DISPLAY_NAME_LENGTH,
                message=f"Use at most {DISPLAY_NAME_LENGTH} characters.",
            ),
        ],
        filters=[lambda value: " ".join(value.split()) if isinstance(value, str) else value],
    )


class RegisterForm(FlaskForm):
    email = _email()
    display_name = _display_name()
    password = _password("Password", "Choose a password.")


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email address."), Length(max=EMAIL_LENGTH)],
    )
    password = _password("Password")
    remember = BooleanField("Keep me signed in for 30 days")


class ForgotForm(FlaskForm):
    email = _email()


class ResetForm(FlaskForm):
    password = _password("New password", "Choose a new password.")


class ProfileForm(FlaskForm):
    display_name = _display_name()


class PasswordChangeForm(FlaskForm):
    current_password = _password("Current password", "Enter your current password.")
    new_password = _password("New password", "Choose a new password.")


class DeleteAccountForm(FlaskForm):
    confirm_email = EmailField(
        "Type your email address to confirm",
        validators=[DataRequired("Type your email address to confirm."), Length(max=EMAIL_LENGTH)],
    )
