"""Run a ``kgys`` command with every thread it starts under cProfile, timed in the thread's own CPU time, and
write the merged statistics when it ends::

    python -m bench.profiled OUT worker jobs

``python -m cProfile`` sees the main thread only, and in wall-clock time: a worker that waits on a lock or a
timer most of the time shows its waits, not its work. Here each thread gets a profiler timed with
``time.thread_time``, so the figures are the CPU each function cost. Threads whose class overrides ``run``
(anyio's worker threads, which run the web server's handlers) are profiled too: the profiler is started
where every thread starts, ``Thread._bootstrap_inner``. ``kgys serve`` ends on SIGTERM with its statistics
written. Read them with
``python -c "import pstats; pstats.Stats('OUT').sort_stats('tottime').print_stats(30)"``.
"""

from __future__ import annotations

import cProfile
import pstats
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any


def main() -> None:
    """Profile ``kgys ARGS…`` and write the statistics of all its threads to OUT."""
    if len(sys.argv) < 3:
        raise SystemExit("usage: python -m bench.profiled OUT kgys-arguments…")
    out, args = Path(sys.argv[1]), sys.argv[2:]
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def run(self: threading.Thread) -> None:
        prof = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(prof)
        prof.enable()
        try:
            bootstrap(self)
        finally:
            prof.disable()

    threading.Thread._bootstrap_inner = run  # type: ignore[attr-defined]
    # uvicorn raises the signal that stopped it again once it has shut down: end here, so the stats are written
    signal.signal(signal.SIGTERM, _exit_on_signal)
    sys.argv = ["kgys", *args]
    from kgys.cli.main import main as kgys_main

    own = cProfile.Profile(time.thread_time)
    code: Any = 0
    own.enable()
    try:
        kgys_main()
    except SystemExit as exc:
        code = exc.code
    finally:
        own.disable()
        with lock:
            stats = pstats.Stats(own)
            for prof in profiles:
                stats.add(prof)
        stats.dump_stats(str(out))
        print(f"profile of {len(profiles) + 1} thread(s) written to {out}", file=sys.stderr)
    raise SystemExit(code)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
