"""Waiting on a condition, never on the clock alone: poll until it holds, with a generous bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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


def run_apart(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on a fresh event loop in a thread of its own, so that an event loop the
    browser fixtures keep running in the test's thread (Playwright's synchronous API) does not stand in the way."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
