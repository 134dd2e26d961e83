"""``flask users ...``: create accounts, change roles and print password reset links."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.accounts.reset import reset_url
from app.accounts.users import AccountError, create_user, find_user, set_role
from app.extensions import db
from app.models import ROLES

GENERATED_PASSWORD_BYTES = 18  # 24 URL-safe characters


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)


@click.group("users")
def users_cli() -> None:
    """Manage accounts."""


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="learner", show_default=True)
@click.option("--display-name", default="", help="Defaults to the part of EMAIL before @.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (its line ending is "
    "not part of it). Without it, a password is generated and printed once.",
)
@with_appcontext
def create(email: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create an account with EMAIL."""
    if password_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        generated = False
    else:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        generated = True
    try:
        user = create_user(email, display_name or email.split("@")[0], password, role)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role}).")
    if generated:
        click.echo(f"Password (shown only this once): {password}")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def set_role_command(email: str, role: str) -> None:
    """Give the account with EMAIL the role ROLE."""
    try:
        user = set_role(email, role)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{user.email} is now {user.role}.")


@users_cli.command("reset-link")
@click.argument("email")
@with_appcontext
def reset_link(email: str) -> None:
    """Print a one-time link that lets the owner of EMAIL choose a new password.

    The link is on SITE_URL (http://127.0.0.1:5000 when unset) and works once, for
    PASSWORD_RESET_MAX_AGE (30 minutes).
    """
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account with the email address {email!r}.")
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE"].total_seconds() // 60)
    click.echo(f"Reset link for {user.email} (works once, for {minutes} minutes):")
    click.echo(reset_url(user))
