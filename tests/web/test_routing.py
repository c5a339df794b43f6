"""Routes that finish their request on their handler's thread: the answer is the one FastAPI would give, the unit of
work is committed on the handler's own worker thread before the answer leaves, and a handler that fails commits
nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import Engine, event, text

from kgys.runtime import make_runtime
from kgys.web.deps import DB
from kgys.web.routing import Router
from tests.conftest import settings_for


class Thing(BaseModel):
    """A response model with an alias and an optional field."""

    name: str
    kind: str = Field(serialization_alias="type")
    note: str | None = None


class Seen:
    """Which threads handled and committed, and how the units of work ended."""

    def __init__(self) -> None:
        self.handler: list[int] = []
        self.commits: list[int] = []
        self.rollbacks = 0


def _routes(router: APIRouter, seen: Seen) -> None:
    @router.post("/things", response_model=Thing, status_code=201)
    def add(session: DB) -> dict[str, Any]:
        session.execute(text("SELECT 1"))
        seen.handler.append(threading.get_ident())
        return {"name": "okul", "kind": "school", "note": None}

    @router.post("/accepted", response_model=Thing)
    def accepted(session: DB, response: Response) -> Thing:
        session.execute(text("SELECT 1"))
        response.status_code = 202
        response.headers["x-kgys-test"] = "kept"
        return Thing(name="n", kind="k", note="a note")

    @router.post("/bad", response_model=Thing)
    def bad(session: DB) -> dict[str, Any]:
        session.execute(text("SELECT 1"))
        return {"name": "no kind"}

    @router.post("/fails", response_model=Thing)
    def fails(session: DB) -> Thing:
        session.execute(text("SELECT 1"))
        raise HTTPException(409, "taken")

    @router.post("/sparse", response_model=Thing, response_model_exclude_none=True)
    def sparse(session: DB) -> Thing:
        session.execute(text("SELECT 1"))
        return Thing(name="n", kind="k")

    @router.get("/read", response_model=Thing)
    def read(session: DB) -> Thing:
        session.execute(text("SELECT 1"))
        return Thing(name="r", kind="k")


def _app(engine: Engine, data_dir: Path, router: APIRouter, seen: Seen) -> FastAPI:
    rt = make_runtime(settings_for(data_dir, engine.url.render_as_string(hide_password=False)), engine=engine)

    def committed(_session: Any) -> None:
        seen.commits.append(threading.get_ident())

    def rolled_back(_session: Any) -> None:
        seen.rollbacks += 1

    event.listen(rt.sessions, "after_commit", committed)
    event.listen(rt.sessions, "after_rollback", rolled_back)
    _routes(router, seen)
    app = FastAPI()
    app.state.runtime = rt
    app.include_router(router)
    return app


@pytest.fixture
def both(engine: Engine, data_dir: Path) -> Iterator[tuple[TestClient, Seen, TestClient]]:
    """A client of the routes on kgys's Router, what they saw, and a client of the same routes on FastAPI's own."""
    seen = Seen()
    with (TestClient(_app(engine, data_dir, Router(), seen), raise_server_exceptions=False) as ours,
          TestClient(_app(engine, data_dir, APIRouter(), Seen()), raise_server_exceptions=False) as plain):
        yield ours, seen, plain


def test_a_writing_handler_commits_on_its_own_thread_and_answers_as_fastapi_would(
        both: tuple[TestClient, Seen, TestClient]) -> None:
    ours, seen, plain = both
    got, expected = ours.post("/things"), plain.post("/things")
    assert got.status_code == expected.status_code == 201
    assert got.json() == expected.json() == {"name": "okul", "type": "school", "note": None}
    assert got.headers["content-type"] == expected.headers["content-type"]
    assert seen.handler and seen.commits == seen.handler  # committed once, on the handler's thread
    assert seen.rollbacks == 0


def test_a_sub_response_keeps_its_status_and_headers(both: tuple[TestClient, Seen, TestClient]) -> None:
    ours, _, plain = both
    got, expected = ours.post("/accepted"), plain.post("/accepted")
    assert got.status_code == expected.status_code == 202
    assert got.headers["x-kgys-test"] == expected.headers["x-kgys-test"] == "kept"
    assert got.json() == expected.json()


def test_an_answer_outside_its_model_and_a_failing_handler_commit_nothing(
        both: tuple[TestClient, Seen, TestClient]) -> None:
    ours, seen, plain = both
    assert ours.post("/bad").status_code == plain.post("/bad").status_code == 500
    failed = ours.post("/fails")
    assert failed.status_code == plain.post("/fails").status_code == 409
    assert failed.json() == {"detail": "taken"}
    assert seen.commits == [] and seen.rollbacks == 2


def test_routes_with_options_and_reads_answer_as_before(both: tuple[TestClient, Seen, TestClient]) -> None:
    ours, _, plain = both
    assert ours.post("/sparse").json() == plain.post("/sparse").json() == {"name": "n", "type": "k"}
    assert ours.get("/read").json() == plain.get("/read").json()
    ours_doc, plain_doc = ours.get("/openapi.json").json(), plain.get("/openapi.json").json()
    assert ours_doc["paths"] == plain_doc["paths"] and ours_doc["components"] == plain_doc["components"]
