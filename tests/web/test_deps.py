"""The request's unit of work: a reading one ends on the event loop without leaving a transaction or a
connection behind (on PostgreSQL it runs without a transaction at all); a writing one keeps its transaction."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import Engine, QueuePool, text
from starlette.requests import Request

from kgys.runtime import make_runtime
from kgys.web import deps
from tests.conftest import settings_for
from tests.waiting import run_apart


def _in_use(engine: Engine) -> int:
    return cast(QueuePool, engine.pool).checkedout()


def _request(engine: Engine, data_dir: Path, method: str) -> Request:
    rt = make_runtime(settings_for(data_dir, engine.url.render_as_string(hide_password=False)), engine=engine)
    app = SimpleNamespace(state=SimpleNamespace(runtime=rt))  # sessions bound to the engine, as when serving
    return Request({"type": "http", "method": method, "path": "/", "headers": [], "app": app})


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_unit_of_work_gives_its_connection_back_and_reads_without_a_transaction(
        engine: Engine, data_dir: Path, method: str) -> None:
    async def go() -> tuple[bool, int, int]:
        work = deps.db(_request(engine, data_dir, method))
        session = await work.__anext__()
        assert session.execute(text("SELECT 1")).scalar() == 1
        autocommit = bool(getattr(session.connection().connection.dbapi_connection, "autocommit", False))
        in_use = _in_use(engine)
        with pytest.raises(StopAsyncIteration):
            await work.__anext__()
        return autocommit, in_use, _in_use(engine)

    autocommit, in_use, after = run_apart(go())
    assert after == in_use - 1
    assert autocommit is (engine.dialect.name == "postgresql" and method == "GET")


def test_a_reading_unit_of_work_that_fails_is_ended_and_the_error_kept(engine: Engine, data_dir: Path) -> None:
    async def go() -> int:
        work = deps.db(_request(engine, data_dir, "GET"))
        session = await work.__anext__()
        session.execute(text("SELECT 1"))
        in_use = _in_use(engine)
        with pytest.raises(LookupError):
            await work.athrow(LookupError("the handler failed"))
        return in_use - _in_use(engine)

    assert run_apart(go()) == 1
