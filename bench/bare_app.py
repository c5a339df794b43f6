"""The baseline for ``bench/load.py``: a bare FastAPI + SQLAlchemy route that serves the site list's first
pages (the same ``SELECT … ORDER BY priority, name, id LIMIT 50`` and ``count(*)`` kgys runs) with nothing
else — no sign-in, no scope, no audit, no middleware, no response model.

Run by the benchmark as ``python -m bench.bare_app --port N [--workers W]`` with ``KGYS_BENCH_BARE_URL`` naming
the database and ``KGYS_BENCH_BARE_THREADS`` the worker threads (the same number kgys runs with). With
``--workers`` it runs that many processes the way ``kgys serve --workers`` does (one ``SO_REUSEPORT`` socket
each, :mod:`kgys.web.serving`), so the two are compared process for process.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from kgys.web.serving import Supervisor, listening_socket

THREADS = int(os.environ.get("KGYS_BENCH_BARE_THREADS", "8"))
engine = create_engine(os.environ["KGYS_BENCH_BARE_URL"], pool_size=THREADS + 4, max_overflow=10)

LIST = text("SELECT id, code, name, type, priority, rollout_status, compliance_status, latitude, longitude "
            "FROM sites ORDER BY priority, name, id LIMIT 50 OFFSET :offset")
COUNT = text("SELECT count(*) FROM sites")


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Run handlers on the same number of threads as kgys."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    yield
    engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/sites")
def sites(page: int = 1) -> dict[str, Any]:
    """One page of sites and the total."""
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(LIST, {"offset": (page - 1) * 50})]
        total = conn.execute(COUNT).scalar_one()
    return {"items": rows, "total": total, "page": page, "per_page": 50}


def _serve(sock: socket.socket) -> None:
    engine.dispose(close=False)  # a forked worker opens connections of its own
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def main() -> None:
    """Serve the route on 127.0.0.1 with one or more processes."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    sockets = [listening_socket("127.0.0.1", args.port) for _ in range(args.workers)]
    if args.workers == 1:
        _serve(sockets[0])
    else:
        Supervisor(sockets, _serve).run()


if __name__ == "__main__":
    main()
