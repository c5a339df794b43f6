"""The order the modules are sent to the test workers in: the longest, named in tests/conftest.py, first."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONG_MODULES

ROOT = Path(__file__).resolve().parents[1]


def test_every_long_module_named_exists_once() -> None:
    missing = [m for m in LONG_MODULES if not (ROOT / m).is_file()]
    assert missing == [], f"tests/conftest.py names modules that are not there: {missing}"
    assert len(set(LONG_MODULES)) == len(LONG_MODULES)


def test_the_test_command_keeps_that_order() -> None:
    command = (ROOT / "scripts" / "test").read_text()
    assert "--dist loadscope --no-loadscope-reorder" in command
