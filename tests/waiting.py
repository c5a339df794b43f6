"""Waiting on a condition, never on the clock alone: poll until it holds, with a generous bound."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.2,
             detail: Callable[[], str] | None = None) -> T:
    """Poll ``probe`` until it returns something truthy and return it; fail naming ``what`` after ``timeout``,
    with ``detail()`` (a log's tail, say) in the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            more = f":\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{more}")
        time.sleep(every)
