"""SQLAlchemy models, one module per area; importing this package registers every table."""

from __future__ import annotations

from app.extensions import db
from app.models.learner import LearnerOwned
from app.models.progress import CourseReset, LessonProgress
from app.models.quiz import HintReveal, LearnerActivity, QuizAttempt, QuizReveal
from app.models.user import ROLES, User

__all__ = [
    "ROLES",
    "CourseReset",
    "HintReveal",
    "LearnerActivity",
    "LearnerOwned",
    "LessonProgress",
    "QuizAttempt",
    "QuizReveal",
    "User",
    "activity_models",
]


def activity_models() -> list[type[LearnerOwned]]:
    """Every table that records something a learner did (claimed, exported, deleted)."""
    classes = {mapper.class_ for mapper in db.Model.registry.mappers}
    found = [cls for cls in classes if issubclass(cls, LearnerOwned)]
    return sorted(found, key=lambda cls: cls.__tablename__)
