"""Reading-time estimate shown as "N min read".

minutes = ceil(words / 200 + 0.5 × code blocks), at least 1: 200 words of prose a minute,
plus 30 seconds to read each code block. Prose words are counted outside code blocks;
a ``minutes:`` front matter value overrides the estimate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

WORDS_PER_MINUTE = 200
SECONDS_PER_CODE_BLOCK = 30


def reading_minutes(words: int, code_blocks: int) -> int:
    seconds_x_words = words * 60 + code_blocks * SECONDS_PER_CODE_BLOCK * WORDS_PER_MINUTE
    per_minute = 60 * WORDS_PER_MINUTE
    return max(1, -(-seconds_x_words // per_minute))


# A heading the renderer wrote (ids carry the ``h-`` prefix), and any tag.
HEADING_RE = re.compile(r'<h[1-6] id="(h-[^"]+)"')
TAG_RE = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Outline:
    """A lesson's headings in page order, with how much of the text starts at each.

    "N min left" scales the lesson's minutes by the share of words from the current
    section to the end (code counts as words here: a rough share is all it needs).
    """

    sections: tuple[str, ...]
    words_from: tuple[int, ...]  # words from each heading to the end of the lesson
    total_words: int

    @classmethod
    def of(cls, html: str) -> Outline:
        pieces = HEADING_RE.split(html)  # text, id, text, id, text ...
        counts = [len(TAG_RE.sub(" ", piece).split()) for piece in pieces[::2]]
        sections = tuple(pieces[1::2])
        words_from = tuple(sum(counts[i:]) for i in range(1, len(counts)))
        return cls(sections, words_from, sum(counts))

    def index(self, section: str | None) -> int:
        """The heading's position (0-based); -1 for the top of the lesson or an unknown id."""
        return self.sections.index(section) if section in self.sections else -1

    def minutes_left(self, minutes: int, section: str | None) -> int:
        """Reading minutes from the start of ``section`` (the top when None) to the end."""
        position = self.index(section)
        if position < 0 or not self.total_words:
            return minutes
        return max(1, math.ceil(minutes * self.words_from[position] / self.total_words))
