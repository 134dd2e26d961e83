"""SQLAlchemy models, one module per area; importing this package registers every table."""

from app.models.quiz import HintReveal, QuizAttempt, QuizReveal

__all__ = ["HintReveal", "QuizAttempt", "QuizReveal"]
