"""Lesson pages kept per learner state, rendered once and filled in for each response.

A lesson page shows the lesson, who is reading (the site header) and that learner's
progress and answers. While none of these changes, the page stays the same but for its
CSRF token and the forms' submission ids. So the page is rendered once with slots for
those (``app.fragments.slots_open``), kept as a *snapshot*, and each later response only
fills the slots in; the gzip encoding is kept too, as deflate blocks, with the slots in
uncompressed blocks of their own and the CRC-32 computed per response.

A snapshot is kept under everything the page depends on:

- the lesson (content loaded again gives new objects, and new snapshots);
- the reader as the header shows them (guest, or account id, name and role) and what the
  page's canonical address is built from (the host it was asked on, when ``SITE_URL`` is
  unset);
- the learner's *state*: their progress rows in the course, the number and newest id of
  their answers, answer reveals and hints in the lesson, and their last reset of the
  course, read in one statement (``read_state``). Attempts, reveals and hints are
  only ever added, and a claimed guest's rows are added to the account, so any change to
  them changes a count or an id; progress rows are compared whole;
- the "5 minutes ago" texts the page shows for the lesson's times.

Pages with a flash message, and pages for authors (who see content problems), are
rendered every time. ``LESSON_SNAPSHOT_BYTES`` bounds what a worker keeps (0: no
snapshots); the oldest snapshots go first.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user
from sqlalchemy import and_, bindparam, func, select

from app.accounts.roles import sees_authoring_errors
from app.content.model import Lesson
from app.extensions import db
from app.fragments import (
    CSRF_SLOT,
    SUBMISSION_SLOT,
    VARIANTS_SLOT,
    kept,
    signed_csrf_token,
    slots_open,
)
from app.gzip_parts import FINAL, HEADER, stored_block, trailer
from app.models import CourseReset, HintReveal, LessonProgress, QuizAttempt, QuizReveal
from app.models.learner import aware
from app.models.quiz import SUBMISSION_ID_LENGTH
from app.prepared import Prepared
from app.progress.services import PROGRESS_SHOWN, visit_is_due
from app.progress.views import ago
from app.quizzes.learner import Learner, learner_is

CSRF, SUBMISSION = 0, 1  # the slots of a snapshot's pieces
PROGRESS_COLUMNS = (LessonProgress.lesson, *PROGRESS_SHOWN)


@dataclass(frozen=True)
class LearnerState:
    """What a lesson page shows of one learner, as the database holds it right now."""

    progress: tuple[tuple[Any, ...], ...]  # PROGRESS_COLUMNS of each row in the course
    activity: tuple[Any, ...]  # answers, reveals, hints (count, newest id each), reset

    @property
    def reset(self) -> datetime | None:
        moment = self.activity[-1]
        return aware(moment) if moment is not None else None

    def lesson_row(self, slug: str) -> tuple[Any, ...] | None:
        """The lesson's progress row, if it counts (it was started since the last reset)."""
        reset = self.reset
        for row in self.progress:
            if row[0] == slug and (reset is None or aware(row[1]) >= reset):
                return row
        return None

    def visit_is_due(self, slug: str) -> bool:
        row = self.lesson_row(slug)
        return row is None or visit_is_due(row[2])

    def times_shown(self, slug: str) -> tuple[str, ...]:
        """The page's "… ago" texts: when the progress was saved and the lesson completed."""
        row = self.lesson_row(slug)
        if row is None:
            return ()
        return (ago(row[2]), ago(row[5]) if row[5] is not None else "")


def read_state(learner: Learner, course: str, lesson: str) -> LearnerState:
    """The learner's state for a lesson page: one prebuilt statement, plain rows."""
    params = {**learner.params(), "course": course, "lesson": lesson}
    # A connection of its own, not the ORM session's: a kept page then needs no session
    # at all. A page rendered afresh reads in the session's own transaction; should a
    # write land between the two reads, the newer page is kept under the older state,
    # which no later request sends again.
    rows = _state_statement(learner.kind).read(db.engine, params)
    activity = tuple(rows[0][:ACTIVITY_COLUMNS])
    progress = tuple(tuple(row[ACTIVITY_COLUMNS:]) for row in rows if row[ACTIVITY_COLUMNS])
    return LearnerState(progress, activity)


ACTIVITY_COLUMNS = 7  # answers, reveals and hints (count and newest id each), the reset


@cache
def _state_statement(kind: str) -> Prepared:
    """One row of activity figures, joined to each of the learner's progress rows."""
    columns = []
    for model in (QuizAttempt, QuizReveal, HintReveal):
        rows = (
            learner_is(model, kind),
            model.course == bindparam("course"),
            model.lesson == bindparam("lesson"),
        )
        columns.append(select(func.count()).where(*rows).scalar_subquery())
        columns.append(select(func.max(model.id)).where(*rows).scalar_subquery())
    reset = select(func.max(CourseReset.reset_at)).where(
        learner_is(CourseReset, kind), CourseReset.course == bindparam("course")
    )
    columns.append(reset.scalar_subquery())
    activity = select(*columns).subquery("activity")
    progress = and_(learner_is(LessonProgress, kind), LessonProgress.course == bindparam("course"))
    return Prepared(
        select(activity, *PROGRESS_COLUMNS)
        .select_from(activity.outerjoin(LessonProgress, progress))
        .order_by(LessonProgress.lesson)
    )


# --- snapshots ---------------------------------------------------------------------------

SNAPSHOT_LEVEL = 5  # compressed once per snapshot: 15% smaller than level 1, for +0.5 ms
SUBMISSION_BLOCK_HEADER = stored_block(b"-" * SUBMISSION_ID_LENGTH)[:-SUBMISSION_ID_LENGTH]
PLACEHOLDER = "\x01"  # a character escaped HTML never holds: no text matches a placeholder
VARIANTS_RE = re.escape(VARIANTS_SLOT).replace(r"\{\}", r"(\d+)")
SLOT_RE = re.compile(f"{re.escape(CSRF_SLOT)}|{re.escape(SUBMISSION_SLOT)}|{VARIANTS_RE}")


@dataclass(frozen=True)
class Variants:
    """A slot for one of several renderings (a question's orders), picked per response."""

    choices: tuple[tuple[Piece, ...], ...]


Piece = tuple[bytes, bytes] | int | Variants  # text (UTF-8, deflate blocks), a token, variants


@dataclass(frozen=True)
class Snapshot:
    """A page as text and slots; the text's deflate blocks are made once.

    The page is compressed as one stream, with a placeholder as long as the slot's value
    in each slot, flushed at each slot's edges (``Z_SYNC_FLUSH``: byte-aligned, and the
    history is kept, so the text compresses as well as the whole page would). A block of
    text may refer back to any earlier text, over the slots: their values have the
    placeholders' lengths, and no text can refer into a slot, since no text contains the
    placeholder character. Each response puts its tokens in uncompressed blocks of their
    own. A variant is a stream of its own, kept once for all the pages that show it
    (``app.fragments.kept``); when variants differ in length, the page's stream forgets
    its history there (``Z_FULL_FLUSH``) so that no distance spans them.
    """

    pieces: tuple[Piece, ...]
    token_length: int  # the CSRF token's length the blocks were made for; -1: none made
    size: int  # bytes kept
    submissions: int  # submission id slots filled per response (at most)

    @classmethod
    def of(cls, html: str, variants: list[tuple[str, ...]], token_length: int) -> Snapshot:
        if PLACEHOLDER in html or any(PLACEHOLDER in text for v in variants for text in v):
            token_length = -1  # a control character in a lesson: compress per response
        compile_ = _Compiler(variants, token_length)
        pieces, _ = compile_(html)
        submissions = html.count(SUBMISSION_SLOT) + sum(
            max(text.count(SUBMISSION_SLOT) for text in group) for group in variants
        )
        return cls(pieces, token_length, compile_.size, submissions)

    def fill(self, gzipped: bool) -> bytes:
        """The page with this response's CSRF token, fresh submission ids, and variants."""
        token = signed_csrf_token().encode()
        token_block = stored_block(token)
        submission_ids = new_submission_ids(self.submissions)
        raws: list[bytes] = []
        blocks: list[bytes] = [HEADER]

        def add(pieces: tuple[Piece, ...]) -> None:
            for piece in pieces:
                if type(piece) is tuple:
                    raws.append(piece[0])
                    blocks.append(piece[1])
                elif piece == CSRF:
                    raws.append(token)
                    blocks.append(token_block)
                elif piece == SUBMISSION:
                    value = submission_ids.pop() if submission_ids else new_submission_ids(1)[0]
                    raws.append(value)
                    blocks.append(SUBMISSION_BLOCK_HEADER + value)
                else:
                    # The order is not a secret: no system call for random bytes per question.
                    add(random.choice(piece.choices))  # type: ignore[union-attr] # noqa: S311

        add(self.pieces)
        plain = b"".join(raws)
        if not gzipped:
            return plain
        if len(token) != self.token_length:  # a token of another length: compress afresh
            return gzip.compress(plain, current_app.config["COMPRESS_LEVEL"], mtime=0)
        blocks.append(FINAL)
        blocks.append(trailer(zlib.crc32(plain), len(plain)))
        return b"".join(blocks)


def new_submission_ids(count: int) -> list[bytes]:
    """``count`` random (version 4) UUIDs as text, from one call for random bytes."""
    data = bytearray(os.urandom(16 * count))
    ids = []
    for start in range(0, len(data), 16):
        data[start + 6] = data[start + 6] & 0x0F | 0x40  # version 4
        data[start + 8] = data[start + 8] & 0x3F | 0x80  # the RFC 4122 variant
        h = data[start : start + 16].hex()
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode())
    return ids


class _Compiler:
    """Turns rendered HTML with slot markers into pieces, compressing as it goes."""

    def __init__(self, variants: list[tuple[str, ...]], token_length: int) -> None:
        self.variants = variants
        self.token_length = token_length
        self.size = 0

    def __call__(self, html: str) -> tuple[tuple[Piece, ...], int]:
        """The pieces of ``html`` (a stream of its own) and their length in bytes."""
        compressor = zlib.compressobj(SNAPSHOT_LEVEL, zlib.DEFLATED, -15)
        pieces: list[Piece] = []
        length = position = 0
        for match in [*SLOT_RE.finditer(html), None]:
            end = match.start() if match is not None else len(html)
            if end > position:
                raw = html[position:end].encode()
                blocks = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
                pieces.append((raw, blocks))
                length += len(raw)
                self.size += len(raw) + len(blocks)
            if match is None:
                break
            position = match.end()
            slot = match.group(0)
            if match.group(1) is not None:  # variants
                choices = [self.variant(text) for text in self.variants[int(match.group(1))]]
                pieces.append(Variants(tuple(piece for piece, _ in choices)))
                lengths = {size for _, size in choices}
                if len(lengths) == 1:
                    (size,) = lengths
                else:  # later bytes move with the variant picked: refer to nothing before
                    size = -1
                    compressor.flush(zlib.Z_FULL_FLUSH)
            else:
                size = self.token_length if slot == CSRF_SLOT else SUBMISSION_ID_LENGTH
                pieces.append(CSRF if slot == CSRF_SLOT else SUBMISSION)
            if size >= 0:
                compressor.compress((PLACEHOLDER * size).encode())
                compressor.flush(zlib.Z_SYNC_FLUSH)  # the slot's blocks: replaced per response
                length += size
        return tuple(pieces), length

    def variant(self, html: str) -> tuple[tuple[Piece, ...], int]:
        """A variant's pieces, a stream of its own: kept once for every page showing it."""
        key = ("snapshot-variant", self.token_length, html)
        return kept(key, Variants, lambda: _Compiler([], self.token_length)(html))


class SnapshotStore:
    """One worker's snapshots, oldest first, within ``LESSON_SNAPSHOT_BYTES``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._snapshots: dict[Hashable, tuple[Lesson, Snapshot]] = {}

    def get(self, key: Hashable, lesson: Lesson) -> Snapshot | None:
        entry = self._snapshots.get(key)
        return entry[1] if entry is not None and entry[0] is lesson else None

    def put(self, key: Hashable, lesson: Lesson, snapshot: Snapshot) -> None:
        if snapshot.size > self.max_bytes:
            return
        old = self._snapshots.pop(key, None)
        if old is not None:
            self.size -= old[1].size
        while self._snapshots and self.size + snapshot.size > self.max_bytes:
            oldest = next(iter(self._snapshots))
            self.size -= self._snapshots.pop(oldest)[1].size
        self._snapshots[key] = (lesson, snapshot)
        self.size += snapshot.size

    def __len__(self) -> int:
        return len(self._snapshots)


def init_app(app: Flask) -> None:
    app.extensions["lesson_snapshots"] = SnapshotStore(app.config["LESSON_SNAPSHOT_BYTES"])


def lesson_response(lesson: Lesson, state: LearnerState, render: Callable[[], str]) -> Response:
    """The lesson page from its snapshot for this reader and state, made when missing."""
    store: SnapshotStore = current_app.extensions["lesson_snapshots"]
    if not store.max_bytes or "_flashes" in session or sees_authoring_errors():
        return current_app.make_response(render())
    key = (lesson.course_slug, lesson.slug, _reader(), _where_asked(), state)
    key += state.times_shown(lesson.slug)
    snapshot = store.get(key, lesson)
    if snapshot is None:
        with slots_open() as variants:
            html = render()
        g.pop("gzip_kept_parts", None)  # the snapshot is compressed as a whole
        snapshot = Snapshot.of(html, variants, len(signed_csrf_token()))
        store.put(key, lesson, snapshot)
    gzipped = bool(request.accept_encodings["gzip"])
    response = current_app.response_class(snapshot.fill(gzipped), mimetype="text/html")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def _where_asked() -> tuple[Any, ...]:
    """What the page's own address (canonical link, ``og:url``) is built from: ``SITE_URL``,
    or else the scheme, host and mount point the request came with."""
    if current_app.config["SITE_URL"]:
        return ()
    environ = request.environ
    host = environ.get("HTTP_HOST") or (environ.get("SERVER_NAME"), environ.get("SERVER_PORT"))
    return (environ.get("wsgi.url_scheme"), host, environ.get("SCRIPT_NAME", ""))


def _reader() -> tuple[Any, ...]:
    """The reader as the page's header shows them."""
    if current_user.is_authenticated:
        return ("account", current_user.id, current_user.display_name, current_user.role)
    return ("guest",)
