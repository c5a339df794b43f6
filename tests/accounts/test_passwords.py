"""The password policy decides alone (no database): table of passwords and the reason each is refused."""

from __future__ import annotations

import pytest

from kgys.accounts import passwords
from kgys.accounts.passwords import PasswordPolicy, password_problem

POLICY = PasswordPolicy(min_length=10, min_score=3)


@pytest.mark.parametrize(("password", "expected"), [
    ("", passwords.BLANK),
    (" " * 10, passwords.BLANK),
    ("\t \n" * 5, passwords.BLANK),
    ("Ab1!xyz", passwords.TOO_SHORT),
    ("x" * 257, passwords.TOO_LONG),
    ("password123", passwords.WEAK),
    ("Password123!", passwords.WEAK),
    ("qwertyuiop12", passwords.WEAK),
    ("aaaaaaaaaaaa", passwords.WEAK),
    ("iloveyou2024", passwords.WEAK),
    ("1234567890123", passwords.WEAK),
    ("mehmet.yilmaz-2026!", passwords.HAS_NAME),  # the username
    ("MEHMET.YILMAZ-secure-9", passwords.HAS_NAME),  # in any case
    ("my-yilmaz@il.example-pw", passwords.HAS_NAME),  # the e-mail address
    ("correct-horse-42", None),
    ("lilac-orbit-7-tundra", None),
    ("kV9#pL2!xQ7z", None),
    ("lilac-orbit-7-tundra " * 12, None),  # 252 characters: scored on its first 72, accepted
    ("a" * 200, passwords.WEAK),
])
def test_policy(password: str, expected: str | None) -> None:
    assert password_problem(password, policy=POLICY, username="mehmet.yilmaz",
                            email="yilmaz@il.example") == expected


def test_threshold_moves_the_line() -> None:
    assert password_problem("Galatasaray1905", policy=PasswordPolicy(min_score=3)) == passwords.WEAK
    assert password_problem("Galatasaray1905", policy=PasswordPolicy(min_score=2)) is None


def test_short_names_are_not_matched_inside_passwords() -> None:
    # a two-letter username would refuse half of all passwords; it is not looked for
    assert password_problem("lilac-orbit-7-tundra", policy=POLICY, username="li") is None
