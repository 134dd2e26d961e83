"""The password policy (length, common passwords) and hashing with Werkzeug's scrypt.

Passwords may use any Unicode characters and follow no composition rules. They are
normalised (NFKC) so the same password typed on two keyboards matches, and never cut.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 128
HASH_METHOD = "scrypt"


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of the zxcvbn project's lists, case-folded."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *personal: str) -> list[str]:
    """Why ``password`` is refused (empty when it is fine).

    ``personal`` holds the account's email and display name, which are refused as
    passwords too.
    """
    password = normalise(password)
    length = len(password)
    if length < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters (this one has {length})."]
    if length > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters (this one has {length})."]
    folded = password.casefold()
    if folded in common_passwords() or folded.strip() in common_passwords():
        return ["This password is one of the most common ones. Choose a less predictable one."]
    for value in personal:
        if value and folded == normalise(value).casefold():
            return ["Don't use your email address or your name as your password."]
    if not password.strip():
        return ["A password can't be only spaces."]
    return []


def hash_password(password: str) -> str:
    return generate_password_hash(normalise(password), method=HASH_METHOD)


def password_matches(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, normalise(password))


# The scrypt hash of a random string nobody kept: checked when the email is unknown, so
# that failure costs the same hashing work as a wrong password, from the first request on.
DUMMY_HASH = (
    "scrypt:32768:8:1$oWyjZdIyIjHBmfhG$c081080a8bf916112403a068336d2176cde5f4fd3ea10299a2ccc8b5"
    "79a45675d61d03eff93456cdb02fa4678c1e4825bac2941a31ba2e318be1312f09b54460"
)


def dummy_hash() -> str:
    return DUMMY_HASH
