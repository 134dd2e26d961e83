"""The password policy and hashing (pure functions)."""

from __future__ import annotations

import pytest

from app.accounts.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    common_passwords,
    dummy_hash,
    hash_password,
    password_matches,
    password_problems,
)


def test_the_common_password_list_is_large() -> None:
    assert len(common_passwords()) >= 10_000
    assert "password" in common_passwords()


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "ünïcödé pässwörd ✓",
        "Пароль-для-курса",
        "x" * MIN_LENGTH + "ab",
        "a" * MAX_LENGTH,
        "   spaces are fine   inside",
    ],
)
def test_accepted_passwords(password: str) -> None:
    assert password_problems(password, "ada@example.org", "Ada") == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 12 characters"),
        ("a" * (MAX_LENGTH + 1), "at most 128 characters"),
        ("qwerty123456", "most common"),
        ("TempPassword", "most common"),
        ("ada@example.org", "your email address or your name"),
        ("Ada Lovelace Byron", "your email address or your name"),
        (" " * 14, "only spaces"),
    ],
)
def test_refused_passwords(password: str, message: str) -> None:
    problems = password_problems(password, "ada@example.org", "Ada Lovelace Byron")
    assert problems and message in problems[0]


def test_composed_and_decomposed_unicode_are_the_same_password() -> None:
    composed, decomposed = (
        "caf\u00e9 au lait, s'il vous pla\u00eet",
        "cafe\u0301 au lait, s'il vous pla\u00eet",
    )
    stored = hash_password(composed)
    assert stored.startswith("scrypt:")
    assert password_matches(stored, decomposed)
    assert not password_matches(stored, composed + "x")


def test_long_passwords_are_never_truncated() -> None:
    password = "p" * 100 + "tail-one"
    stored = hash_password(password)
    assert password_matches(stored, password)
    assert not password_matches(stored, "p" * 100 + "tail-two")


def test_the_dummy_hash_costs_as_much_as_a_real_one() -> None:
    """Unknown emails are checked against it: same method and scrypt parameters."""
    real = hash_password("a real password for the comparison")
    assert dummy_hash().split("$")[0] == real.split("$")[0] == "scrypt:32768:8:1"
    assert not password_matches(dummy_hash(), "a real password for the comparison")
