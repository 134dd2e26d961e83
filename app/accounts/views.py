"""Account pages: register, sign in and out, recover access, settings and the dashboard.

Invalid forms re-render with messages next to the fields and status 400. Pages that
show or change account data are never cached (``Cache-Control: no-store``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, fresh_login_required, login_fresh, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import TooManyRequests

from app.accounts.claim import delete_account, export_account
from app.accounts.forms import (
    DeleteAccountForm,
    ForgotForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    RegisterForm,
    ResetForm,
)
from app.accounts.mail import send_mail
from app.accounts.passwords import dummy_hash, hash_password, password_matches, password_problems
from app.accounts.reset import reset_url, user_for_token
from app.accounts.sessions import safe_next, sign_in, sign_out
from app.accounts.throttle import clear_failures, record_failure, seconds_locked
from app.accounts.users import AccountError, create_user, find_user, normalise_email
from app.extensions import db
from app.lessons.store import catalog
from app.models import LessonProgress, QuizAttempt, User
from app.models.learner import aware
from app.progress.summary import CourseProgress, course_progress
from app.quizzes.learner import Learner
from app.security import no_store, private_referrer

log = logging.getLogger(__name__)
auth = Blueprint("auth", __name__, url_prefix="/auth")
account = Blueprint("account", __name__)

BAD_CREDENTIALS = "That email and password don't match an account. Check both and try again."


auth.after_request(no_store)
account.after_request(no_store)


def _page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return render_template(template, **context), status


def _status(form: FlaskForm) -> int:
    """200 for a form shown for the first time, 400 when a sent one is re-rendered."""
    return 400 if form.is_submitted() else 200


# ---------- registering, signing in and out ----------


@auth.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("account.dashboard"))
    form = RegisterForm()
    valid = form.validate_on_submit()
    if form.is_submitted() and form.password.data and not form.password.errors:
        # Checked even when another field is wrong, so every problem shows at once.
        problems = password_problems(
            form.password.data, form.email.data or "", form.display_name.data or ""
        )
        if problems:
            form.password.errors.append(problems[0])
            valid = False
    if valid:
        try:
            user = create_user(form.email.data, form.display_name.data, form.password.data)
        except (AccountError, IntegrityError) as exc:
            db.session.rollback()
            form.email.errors.append(_taken_message(exc))
        else:
            sign_in(user)
            db.session.commit()
            flash(f"Welcome, {user.display_name}! Your account is ready.", "success")
            return redirect(safe_next(request.args.get("next")), 303)
    return _page("auth/register.html", _status(form), form=form)


def _taken_message(exc: Exception) -> str:
    if isinstance(exc, AccountError):
        return str(exc)
    return "An account with that email address already exists."  # lost a race to it


@auth.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = safe_next(request.args.get("next"))
    reauthenticating = current_user.is_authenticated
    if reauthenticating and login_fresh() and request.method == "GET":
        return redirect(target)
    form = LoginForm()
    if reauthenticating and not form.is_submitted():
        form.email.data = current_user.email
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user is not None and (wait := seconds_locked(user)):
            _log_login_failed(user, form.email.data, "locked")
            raise _locked(wait)
        checked_hash = user.password_hash if user is not None else dummy_hash()
        if user is not None and password_matches(checked_hash, form.password.data):
            clear_failures(user)
            sign_in(user, remember=form.remember.data)
            db.session.commit()
            flash(f"Welcome back, {user.display_name}.", "success")
            return redirect(target, 303)
        if user is None:
            password_matches(checked_hash, form.password.data)  # same work as a wrong password
        else:
            record_failure(user)
            db.session.commit()
        _log_login_failed(user, form.email.data, "no-account" if user is None else "password")
        form.form_errors.append(BAD_CREDENTIALS)
    return _page("auth/login.html", _status(form), form=form, reauthenticating=reauthenticating)


def _log_login_failed(user: User | None, typed_email: str, reason: str) -> None:
    """One JSON line per refused sign-in, naming the account (never the password).

    For an address without an account, the address is logged only when it is a valid
    email address: people sometimes type their password into the email field.
    """
    if user is not None:
        who, email = str(user.id), user.email
    else:
        who = "-"
        try:
            email = normalise_email(typed_email)
        except AccountError:
            email = None
    line = {
        "event": "login_failed",
        "request_id": g.get("request_id", "-"),
        "user": who,
        "email": email,
        "reason": reason,
    }
    log.warning("%s", json.dumps(line))


def _locked(seconds: int) -> TooManyRequests:
    minutes = max(1, round(seconds / 60))
    return TooManyRequests(
        "There have been too many failed sign-ins to this account. Sign-ins to it are "
        f"paused for about {minutes} minute{'s' if minutes != 1 else ''}. If you have "
        "forgotten the password, you can reset it now.",
        retry_after=seconds,
    )


@auth.post("/logout")
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:  # a guest's session (and guest work) is left alone
        sign_out(current_user._get_current_object())
        db.session.commit()
        flash("You're signed out on every device.", "success")
    return redirect(url_for("lessons.catalog_page"), 303)


# ---------- recovering access ----------


@auth.route("/forgot", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """The same page whether or not the address has an account."""
    form = ForgotForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user is not None:
            _send_reset_mail(user)
        return _page("auth/forgot.html", form=form, sent_to=normalise_email(form.email.data))
    return _page("auth/forgot.html", _status(form), form=form, sent_to=None)


def _send_reset_mail(user: User) -> None:
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE"].total_seconds() // 60)
    body = render_template("auth/reset_mail.txt", user=user, link=reset_url(user), minutes=minutes)
    send_mail(user.email, f"Reset your {current_app.config['SITE_NAME']} password", body)


@auth.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    private_referrer()
    user = user_for_token(token)
    if user is None:
        return _page("auth/reset.html", 400, form=None, invalid=True)
    form = ResetForm()
    if form.validate_on_submit():
        problems = password_problems(form.password.data, user.email, user.display_name)
        if not problems:
            _set_password(user, form.password.data)
            sign_in(user)
            db.session.commit()
            flash("Your password is changed and every other session is signed out.", "success")
            return redirect(url_for("account.dashboard"), 303)
        form.password.errors.append(problems[0])
    return _page("auth/reset.html", _status(form), form=form, invalid=False, user=user)


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = datetime.now(UTC)
    user.rotate_session_token()
    clear_failures(user)


# ---------- the dashboard and account settings ----------


@account.get("/dashboard")
@login_required
def dashboard() -> ResponseReturnValue:
    return _page("account/dashboard.html", courses=_started_courses(current_user.id))


def _started_courses(user_id: int) -> list[CourseProgress]:
    """The learner's progress in each course they worked in, most recent first."""
    learner = Learner(user_id=user_id)
    latest: dict[str, datetime] = {}
    for model, moment in (
        (LessonProgress, LessonProgress.last_seen_at),
        (QuizAttempt, QuizAttempt.created_at),
    ):
        rows = db.session.execute(
            select(model.course, func.max(moment))
            .where(model.user_id == user_id)
            .group_by(model.course)
        )
        for course_slug, when in rows:
            latest[course_slug] = max(aware(when), latest.get(course_slug, aware(when)))
    found = []
    for course_slug in sorted(latest, key=latest.__getitem__, reverse=True):
        course = catalog().course(course_slug)
        if course is not None:  # None: the course was removed from content/
            found.append(course_progress(learner, course))
    return found


def _settings_forms(**sent: FlaskForm) -> dict[str, FlaskForm]:
    forms: dict[str, FlaskForm] = {
        "profile": sent.get("profile") or ProfileForm(prefix="profile", formdata=None),
        "password": sent.get("password") or PasswordChangeForm(prefix="password", formdata=None),
        "delete": sent.get("delete") or DeleteAccountForm(prefix="delete", formdata=None),
    }
    if "profile" not in sent:
        forms["profile"].display_name.data = current_user.display_name
    return forms


def _settings_page(status: int = 200, **sent: FlaskForm) -> ResponseReturnValue:
    return _page(
        "account/settings.html", status, forms=_settings_forms(**sent), fresh=login_fresh()
    )


@account.get("/account")
@login_required
def settings() -> ResponseReturnValue:
    return _settings_page()


@account.post("/account/profile")
@login_required
def update_profile() -> ResponseReturnValue:
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        return _settings_page(400, profile=form)
    current_user.display_name = form.display_name.data
    db.session.commit()
    flash("Your display name is saved.", "success")
    return redirect(url_for("account.settings"), 303)


@account.post("/account/password")
@fresh_login_required
def change_password() -> ResponseReturnValue:
    user: User = current_user._get_current_object()
    form = PasswordChangeForm(prefix="password")
    if not form.validate_on_submit():
        return _settings_page(400, password=form)
    if wait := seconds_locked(user):
        raise _locked(wait)
    if not password_matches(user.password_hash, form.current_password.data):
        record_failure(user)
        db.session.commit()
        form.current_password.errors.append("That isn't your current password.")
        return _settings_page(400, password=form)
    problems = password_problems(form.new_password.data, user.email, user.display_name)
    if problems:
        form.new_password.errors.append(problems[0])
        return _settings_page(400, password=form)
    remembered = current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies
    _set_password(user, form.new_password.data)
    sign_in(user, remember=remembered)
    db.session.commit()
    flash("Your password is changed. Every other session is signed out.", "success")
    return redirect(url_for("account.settings"), 303)


@account.post("/account/delete")
@fresh_login_required
def delete() -> ResponseReturnValue:
    user: User = current_user._get_current_object()
    form = DeleteAccountForm(prefix="delete")
    if form.validate_on_submit() and not _same_email(form.confirm_email.data, user.email):
        form.confirm_email.errors.append("That isn't the email address of this account.")
    if form.errors:
        return _settings_page(400, delete=form)
    delete_account(user)
    sign_out(None)
    db.session.commit()
    flash("Your account and all its data are deleted.", "success")
    return redirect(url_for("lessons.catalog_page"), 303)


def _same_email(typed: str, email: str) -> bool:
    try:
        return normalise_email(typed) == email
    except AccountError:
        return False


@account.get("/account/export")
@login_required
def export() -> ResponseReturnValue:
    data = export_account(current_user._get_current_object())
    day = datetime.now(UTC).date().isoformat()
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="learn-flask-data-{day}.json"'},
    )
