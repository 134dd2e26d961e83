"""SQLAlchemy models, one module per area; importing this package registers every table."""

from app.models.quiz import HintReveal, QuizAttempt, QuizReveal
from app.models.user import ROLES, User

__all__ = ["ROLES", "HintReveal", "QuizAttempt", "QuizReveal", "User"]
