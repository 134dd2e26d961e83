"""Reading-time estimate shown as "N min read".

minutes = ceil(words / 200 + 0.5 × code blocks), at least 1: 200 words of prose a minute,
plus 30 seconds to read each code block. Prose words are counted outside code blocks;
a ``minutes:`` front matter value overrides the estimate.
"""

WORDS_PER_MINUTE = 200
SECONDS_PER_CODE_BLOCK = 30


def reading_minutes(words: int, code_blocks: int) -> int:
    seconds_x_words = words * 60 + code_blocks * SECONDS_PER_CODE_BLOCK * WORDS_PER_MINUTE
    per_minute = 60 * WORDS_PER_MINUTE
    return max(1, -(-seconds_x_words // per_minute))
