"""What every benchmark shares: throwaway databases, a runtime on them, the machine's description,
timing helpers, Markdown tables and appending a run to ``bench/RESULTS.md``.

Each benchmark owns its database for the length of the run: a SQLite file in a temporary directory, or
a PostgreSQL database named ``kgys_bench_<pid>`` (``_<n>`` appended for further ones in the same run)
that is dropped at the end, also when the run is interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from kgys.config import Settings
from kgys.runtime import Runtime, make_runtime

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
PG_ADMIN_URL = os.environ.get("KGYS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ENGINES = ("sqlite", "postgresql")
_counter = 0


def engines(choice: str) -> list[str]:
    """The engines named by an ``--engine`` option (sqlite, postgresql or both)."""
    return list(ENGINES) if choice == "both" else [choice]


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both",
                   help="database engine(s) to measure (default: both)")
    p.add_argument("--max-seconds", type=float, default=120.0,
                   help="upper bound for each measured loop; a loop that hits it stops early and says so")
    p.add_argument("--append-results", action="store_true",
                   help=f"append the table, machine, date, commit and command to {RESULTS.relative_to(ROOT)}")
    return p


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_cleanup() -> None:
    """Turn SIGTERM into KeyboardInterrupt so ``finally`` blocks drop databases and temp dirs."""
    signal.signal(signal.SIGTERM, _terminate)


@dataclass
class BenchDb:
    """A throwaway, migrated database and the runtime bound to it."""

    kind: str
    url: str
    data_dir: Path
    rt: Runtime


def settings_for(data_dir: Path, url: str) -> Settings:
    """Dev-mode settings for a benchmark database."""
    return Settings(mode="dev", data_dir=data_dir, database={"url": url}, security={"cookie_secure": False})


def _pg_admin(sql: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(sql))
    finally:
        admin.dispose()


@contextlib.contextmanager
def throwaway_db(kind: str, *, upgrade: bool = True) -> Iterator[BenchDb]:
    """A fresh database of ``kind`` with the schema migrated, removed again on exit."""
    global _counter
    _counter += 1
    with tempfile.TemporaryDirectory(prefix="kgys-bench-") as tmp:
        data_dir = Path(tmp)
        name = None
        if kind == "sqlite":
            url = f"sqlite:///{data_dir / 'bench.db'}"
        else:
            name = f"kgys_bench_{os.getpid()}" + (f"_{_counter}" if _counter > 1 else "")
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _pg_admin(f'CREATE DATABASE "{name}"')
            url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        rt = None
        try:
            rt = make_runtime(settings_for(data_dir, url), upgrade=upgrade)
            yield BenchDb(kind=kind, url=url, data_dir=data_dir, rt=rt)
        finally:
            if rt is not None:
                rt.close()
            if name is not None:
                _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Deadline:
    """A time budget: ``expired`` turns true after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.perf_counter()

    @property
    def expired(self) -> bool:
        """Whether the budget is spent."""
        return time.perf_counter() - self.start > self.seconds


def percentile(samples: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``samples``."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def fmt_rate(v: float) -> str:
    """A rate with thousands separators."""
    return f"{v:,.0f}"


def fmt_ms(seconds: float) -> str:
    """Seconds as milliseconds with one decimal."""
    return f"{seconds * 1000:.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _pg_version() -> str:
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect() as c:
            v = c.execute(text("SHOW server_version")).scalar()
        eng.dispose()
        return str(v).split()[0]
    except Exception:  # the machine line still prints without PostgreSQL
        return "unreachable"


def machine(kinds: Sequence[str] = ENGINES) -> str:
    """One line describing the machine, Python and database versions."""
    parts = [f"CPU {_cpu_model()}", f"{os.cpu_count()} cores", f"RAM {_ram_gib()}",
             f"Python {platform.python_version()}"]
    if "sqlite" in kinds:
        parts.append(f"SQLite {sqlite3.sqlite_version}")
    if "postgresql" in kinds:
        parts.append(f"PostgreSQL {_pg_version()}")
    return ", ".join(parts)


def git_commit() -> str:
    """The short commit hash of the work tree (with ``+dirty`` when it has uncommitted changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line() -> str:
    """The exact command this process was started with, relative to the repository root."""
    argv = list(sys.argv)
    script = Path(argv[0]).resolve()
    if script.parent == ROOT / "bench":
        return shlex.join([".venv/bin/python", "-m", f"bench.{script.stem}", *argv[1:]])
    with contextlib.suppress(ValueError):
        argv[0] = str(script.relative_to(ROOT))
    return shlex.join([".venv/bin/python", *argv])


def report(title: str, body: str, *, kinds: Sequence[str], append: bool, notes: Sequence[str] = ()) -> None:
    """Print a run's tables; with ``append``, add them with machine, date, commit and command to RESULTS.md."""
    header = [
        f"### {title}",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {git_commit()}",
        f"- machine: {machine(kinds)}",
        f"- load average at the end (1/5/15 min): {' / '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"- command: `{command_line()}`",
    ]
    text_out = "\n".join([*header, "", body, *(["", *notes] if notes else []), ""])
    print(text_out)
    if append:
        existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
        if not existing.endswith("\n"):
            existing += "\n"
        RESULTS.write_text(existing + "\n" + text_out, encoding="utf-8")
        print(f"appended to {RESULTS.relative_to(ROOT)}", file=sys.stderr)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """An HTTP server in a child process on a free port of 127.0.0.1 (``python -m <args> --port N``), started
    and waited for until ``ready_path`` answers below 500; its output goes to ``log``."""

    def __init__(self, args: Sequence[str], *, env: dict[str, str], log: Path, ready_path: str,
                 timeout: float = 90.0) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", *args, "--port", str(self.port)], env=env,
                                     stdout=self._fh, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.base + ready_path, timeout=5.0).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"server did not start:\n{log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        """Terminate the child and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()


def kgys_server(db: BenchDb, **env: str) -> ServerProcess:
    """``kgys serve`` on ``db`` (dev mode, plain HTTP), with extra ``KGYS_…`` environment."""
    full = dict(os.environ, KGYS_MODE="dev", KGYS_DATA_DIR=str(db.data_dir), KGYS_DATABASE__URL=db.url,
                KGYS_SECURITY__COOKIE_SECURE="false", **env)
    return ServerProcess(["kgys", "serve", "--host", "127.0.0.1"], env=full, log=db.data_dir / "serve.log",
                         ready_path="/api/v1/health")
