"""TOTP steps decide alone: the code of now (±1 step for drift) once, never a replayed or older one."""

from __future__ import annotations

import pyotp
import pytest

from kgys.accounts import security

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_015.0  # inside step 60_000_000
STEP = 60_000_000


def _code(step: int) -> str:
    return pyotp.TOTP(SECRET).at(step * 30)


@pytest.mark.parametrize(("code_step", "after", "expected"), [
    (STEP, None, STEP),  # the code of now
    (STEP - 1, None, STEP - 1),  # the previous step (clock drift)
    (STEP + 1, None, STEP + 1),  # the next step (clock drift)
    (STEP - 2, None, None),  # too old
    (STEP + 2, None, None),  # too far ahead
    (STEP, STEP, None),  # already used: a replay
    (STEP - 1, STEP, None),  # older than the last one used
    (STEP, STEP - 1, STEP),  # newer than the last one used
])
def test_totp_step(code_step: int, after: int | None, expected: int | None) -> None:
    assert security.totp_step(SECRET, _code(code_step), now=NOW, after=after) == expected


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_match_nothing(code: str) -> None:
    assert security.totp_step(SECRET, code, now=NOW) is None


def test_spaces_inside_a_code_are_ignored() -> None:
    code = _code(STEP)
    assert security.totp_step(SECRET, f" {code[:3]} {code[3:]} ", now=NOW) == STEP
