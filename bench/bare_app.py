"""The baseline for ``bench/load.py``: a bare FastAPI + SQLAlchemy route that serves the site list's first
pages (the same ``SELECT … ORDER BY priority, name, id LIMIT 50`` and ``count(*)`` kgys runs) with nothing
else — no sign-in, no scope, no audit, no middleware, no response model.

Run by the benchmark as ``python -m uvicorn bench.bare_app:app`` with ``KGYS_BENCH_BARE_URL`` naming the
database and ``KGYS_BENCH_BARE_THREADS`` the worker threads (the same number kgys runs with).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import create_engine, text

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
