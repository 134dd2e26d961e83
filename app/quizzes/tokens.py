"""The revision a page carries: a keyed hash of the question's revision.

``QuizSpec.revision`` hashes the key together with the prompt and options, so with the
options in hand one could try each candidate key against it. The page carries an HMAC
of it under the app's secret key instead, which tells nothing about the key.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from flask import current_app

from app.quiz_types import QuizSpec

STALE_PREFIX = "stale:"


def page_revision(spec: QuizSpec) -> str:
    return _page_revision(str(current_app.config["SECRET_KEY"]), spec.id, spec.revision)


@lru_cache(maxsize=4096)  # a page shows each question's, every reply one: computed once
def _page_revision(secret: str, question_id: str, revision: str) -> str:
    message = f"quiz-revision\0{question_id}\0{revision}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:16]


def seen_revision(spec: QuizSpec, submitted: str) -> str:
    """The revision the learner answered: the current one, or a value that never matches."""
    if hmac.compare_digest(submitted, page_revision(spec)):
        return spec.revision
    return STALE_PREFIX + submitted
