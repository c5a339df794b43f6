"""Units of work on both engines: readers never wait on a writer, writers of one process take turns, a
writer that cannot get in is Busy (503 with Retry-After over HTTP), a read-only unit of work cannot write,
and read-then-write transactions of two processes on one database never lose an update (on SQLite the
write lock is taken at BEGIN; on PostgreSQL the row is locked with FOR UPDATE, as services do)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Receive, Scope, Send

from kgys.config import Settings
from kgys.db import ReadOnlyTransaction, make_engine, make_session_factory, reading, retrying, transaction
from kgys.errors import Busy
from kgys.sites.models import Site
from kgys.web.admission import Admission, keep_place
from tests.conftest import ENGINES, _pg_create, _pg_drop

T = TypeVar("T")

WORKER = """
import sys
from sqlalchemy import Column, Integer, MetaData, Table, select, update
from kgys.config import Settings
from kgys.db import make_engine, make_session_factory, retrying
counter = Table("counter", MetaData(), Column("n", Integer))
settings = Settings(mode="dev", data_dir=sys.argv[2], database={"url": sys.argv[1], "busy_seconds": 30})
factory = make_session_factory(make_engine(settings))
for _ in range(int(sys.argv[3])):
    def bump(s):
        n = s.execute(select(counter.c.n).with_for_update()).scalar_one()  # SQLite: the write lock is held already
        s.execute(update(counter).values(n=n + 1))
    retrying(factory, bump, attempts=10)
"""


class Db:
    """A committed database of its own with a one-row counter table."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.pg_name = f"kgys_db_{os.getpid()}_{uuid.uuid4().hex[:8]}" if kind == "postgresql" else None
        self.url = _pg_create(self.pg_name) if self.pg_name else f"sqlite:///{tmp / 'kgys.db'}"
        self.tmp = tmp
        self.engine = self.make_engine()
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            conn.execute(text("INSERT INTO counter (n) VALUES (0)"))
        self.factory = make_session_factory(self.engine)

    def make_engine(self, **database: object) -> Engine:
        """An engine with these database settings."""
        return make_engine(Settings(mode="dev", data_dir=self.tmp, database={"url": self.url, **database}))

    def count(self) -> int:
        """The counter."""
        with reading(self.factory) as s:
            return int(s.execute(text("SELECT n FROM counter")).scalar_one())


@pytest.fixture(params=ENGINES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """A fresh committed database."""
    d = Db(request.param, tmp_path)
    try:
        yield d
    finally:
        d.engine.dispose()
        if d.pg_name:
            _pg_drop(d.pg_name)


def hold_write(factory: sessionmaker[Session]) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """A thread that opens a writing unit of work, writes, and keeps it open until released."""
    holding, release = threading.Event(), threading.Event()

    def run() -> None:
        with transaction(factory) as s:
            s.execute(text("UPDATE counter SET n = n + 100"))
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=run)
    thread.start()
    assert holding.wait(30), "the writer did not start"
    return holding, release, thread


def test_readers_do_not_wait_for_a_writer(db: Db) -> None:
    _, release, thread = hold_write(db.factory)
    try:
        assert db.count() == 0  # answered at once, from the last committed state
    finally:
        release.set()
        thread.join(30)
    assert db.count() == 100


def test_a_second_writer_waits_its_turn_then_passes(db: Db) -> None:
    _, release, thread = hold_write(db.factory)
    done = threading.Event()

    def second() -> None:
        with transaction(db.factory) as s:
            s.execute(text("UPDATE counter SET n = n + 1"))
        done.set()

    other = threading.Thread(target=second)
    other.start()
    assert not done.is_set()
    release.set()
    thread.join(30)
    other.join(30)
    assert done.is_set() and db.count() == 101


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_writer_that_cannot_get_in_is_busy_and_nothing_is_written(db: Db) -> None:
    impatient = make_session_factory(db.make_engine(busy_seconds=0.3))
    _, release, thread = hold_write(db.factory)
    try:
        with pytest.raises(Busy), transaction(impatient) as s:
            s.execute(text("UPDATE counter SET n = n + 1"))
    finally:
        release.set()
        thread.join(30)
    assert db.count() == 100
    impatient.kw["bind"].dispose()


def test_a_read_only_unit_of_work_cannot_write(db: Db) -> None:
    with pytest.raises(ReadOnlyTransaction), reading(db.factory) as s:
        assert s.execute(text("SELECT n FROM counter")).scalar_one() == 0
        s.execute(update(Site).values(name="x"))


def test_retrying_runs_the_whole_unit_again_when_busy(db: Db) -> None:
    calls: list[int] = []

    def work(s: Session) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise Busy("busy now")
        s.execute(text("UPDATE counter SET n = n + 1"))
        return len(calls)

    assert retrying(db.factory, work, pause=0.01) == 2
    assert db.count() == 1


HOLDER = """
import sys, time
from sqlalchemy import text
from kgys.config import Settings
from kgys.db import make_engine, make_session_factory, transaction
settings = Settings(mode="dev", data_dir=sys.argv[2], database={"url": sys.argv[1]})
with transaction(make_session_factory(make_engine(settings))) as s:
    s.execute(text("UPDATE counter SET n = n + 100"))
    print("holding", flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_writers_of_other_processes_wait_on_the_writers_lock_which_dies_with_its_holder(db: Db) -> None:
    lock_file = Path(str(db.engine.url.database) + "-writers")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db.url, str(db.tmp)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
        fd = os.open(lock_file, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        impatient = make_session_factory(db.make_engine(busy_seconds=0.3))
        with pytest.raises(Busy), transaction(impatient) as s:  # the other process holds the file lock
            s.execute(text("UPDATE counter SET n = n + 1"))
        impatient.kw["bind"].dispose()
    finally:
        holder.kill()  # mid-transaction: its lock goes with it, its write is never committed
        holder.wait(30)
    with transaction(db.factory) as s:
        s.execute(text("UPDATE counter SET n = n + 1"))
    assert db.count() == 1
    assert lock_file.stat().st_mode & 0o777 == 0o600


def test_two_processes_read_then_write_without_losing_an_update(db: Db) -> None:
    n = 150
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, db.url, str(db.tmp), str(n)],
                              stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-3000:]
    assert db.count() == 2 * n


def test_admission_answers_503_with_retry_after_once_the_queue_wait_runs_out() -> None:
    app = in_own_loop(admission_scenario)
    assert app.shed == 1


def in_own_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``scenario`` to its end on an event loop of its own thread (the test process may run another loop
    in its main thread, e.g. a browser driver's)."""
    out: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            out.append(asyncio.run(scenario()))
        except BaseException as exc:  # handed to the test's thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if failed:
        raise failed[0]
    assert out, "the scenario did not finish"
    return out[0]


async def admission_scenario() -> Admission:
    """One request inside, a second shed with 503 after the queue wait, a third admitted after the first."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        entered.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = Admission(slow, max_in_flight=1, queue_seconds=0.3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        first = asyncio.create_task(client.get("/a"))
        await asyncio.wait_for(entered.wait(), 30)
        second = await client.get("/b")
        assert second.status_code == 503 and second.headers["retry-after"] == "1"
        assert second.json()["error"]["type"] == "Busy"
        release.set()
        assert (await first).status_code == 200
        entered.clear()
        third = asyncio.create_task(client.get("/c"))
        await asyncio.wait_for(entered.wait(), 30)
        assert (await third).status_code == 200
    return app


@pytest.mark.parametrize("keep", [False, True])
def test_a_request_leaves_its_place_when_its_answer_starts_unless_it_keeps_it(keep: bool) -> None:
    free_while_sent, exactly_one_after = in_own_loop(lambda: streaming_scenario(keep))
    assert free_while_sent is not keep
    assert exactly_one_after  # given back once, not twice


async def streaming_scenario(keep: bool) -> tuple[bool, bool]:
    """An answer whose body is held back after it started: is the one place free meanwhile, and is there exactly
    one place after it ends?"""
    started, finish = asyncio.Event(), asyncio.Event()

    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        if keep:
            keep_place(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        started.set()
        await finish.wait()
        await send({"type": "http.response.body", "body": b"segment"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        return None

    app = Admission(streaming, max_in_flight=1, queue_seconds=30)
    places = app._places
    first = asyncio.create_task(app({"type": "http", "path": "/cameras/1/playback/7.ts", "headers": []},
                                    receive, send))
    await asyncio.wait_for(started.wait(), 30)
    free_while_sent = not places.locked()
    finish.set()
    await asyncio.wait_for(first, 30)
    await asyncio.wait_for(places.acquire(), 30)
    return free_while_sent, places.locked()
