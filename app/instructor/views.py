"""Instructor pages (course statistics, CSV) and the admin's user list.

Every URL of these blueprints is guarded before the view runs: anonymous visitors are
sent to sign in, signed-in accounts without the role get 403.
"""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.accounts.roles import ADMIN_ROLES, STAFF_ROLES, require_role
from app.accounts.users import AccountError, change_role
from app.extensions import db
from app.instructor.stats import course_learner_counts, course_stats
from app.lessons.store import catalog, course_or_404
from app.models import ROLES, User
from app.security import no_store

instructor = Blueprint("instructor", __name__, url_prefix="/instructor")
admin = Blueprint("admin", __name__, url_prefix="/admin")
instructor.before_request(require_role(*STAFF_ROLES))
admin.before_request(require_role(*ADMIN_ROLES))
USERS_PER_PAGE = 50
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # spreadsheets would run these


instructor.after_request(no_store)
admin.after_request(no_store)


@instructor.get("/")
def index() -> ResponseReturnValue:
    learners = course_learner_counts()
    return render_template("instructor/index.html", courses=catalog().courses, learners=learners)


@instructor.get("/<slug:course_slug>/")
def course(course_slug: str) -> ResponseReturnValue:
    stats = course_stats(course_or_404(course_slug))
    return render_template("instructor/course.html", stats=stats)


@instructor.get("/<slug:course_slug>/questions.csv")
def questions_csv(course_slug: str) -> ResponseReturnValue:
    stats = course_stats(course_or_404(course_slug))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "lesson",
            "question_id",
            "prompt",
            "attempts",
            "learners",
            "first_try_correct_percent",
            "most_chosen_wrong_answer",
            "times_chosen",
            "misconception",
            "source",
        ]
    )
    for question in stats.questions:
        wrong = question.wrong
        writer.writerow(
            [
                _cell(question.lesson.slug),
                _cell(question.spec.id),
                _cell(question.prompt),
                question.attempts,
                question.learners,
                "" if question.first_try_percent is None else question.first_try_percent,
                _cell(wrong.text) if wrong else "",
                wrong.count if wrong else 0,
                _cell(wrong.misconception) if wrong else "",
                _cell(question.source),
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{course_slug}-questions.csv"'},
    )


def _cell(text: str) -> str:
    """Text that a spreadsheet shows as text, never runs as a formula."""
    return f"'{text}" if text.startswith(CSV_FORMULA_START) else text


@admin.get("/users")
def users() -> ResponseReturnValue:
    page = db.paginate(
        db.select(User).order_by(User.created_at, User.id),
        per_page=USERS_PER_PAGE,
        error_out=False,
    )
    return render_template("instructor/users.html", page=page, roles=ROLES)


@admin.post("/users/<int:user_id>/role")
def set_user_role(user_id: int) -> ResponseReturnValue:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description="There is no such account.")
    role = request.form.get("role", "")
    try:
        change_role(user, role)
    except AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return users(), 400
    db.session.commit()
    article = "an" if role[0] in "aeiou" else "a"
    if user.id == current_user.id and role != "admin":
        flash(f"You are now {article} {role}: the user list is for admins only.", "success")
        return redirect(
            url_for("instructor.index" if role in STAFF_ROLES else "account.dashboard"), code=303
        )
    flash(f"{user.email} is now {article} {role}.", "success")
    return redirect(url_for("admin.users", page=request.args.get("page", type=int)), code=303)
