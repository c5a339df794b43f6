"""Alert fixtures: a committed database (SQLite file or a PostgreSQL database of its own) served by a real
uvicorn on a loopback port, with operators of two districts, for the stream tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session
from websockets.sync.client import ClientConnection, connect

from kgys.accounts import service as account_service
from kgys.alerts import raising
from kgys.alerts.models import Alert
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source
from kgys.config import Settings
from kgys.runtime import Runtime, make_runtime
from kgys.web.app import create_app
from tests import factories
from tests.conftest import ENGINES, _pg_drop, migrated_database
from tests.waiting import wait_for
from tests.web.conftest import client  # noqa: F401  (the web fixture, for the page tests here)


@dataclass
class Served:
    """A running server on its own committed database."""

    kind: str
    rt: Runtime
    port: int
    site_ids: dict[str, int]
    app: FastAPI
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stream(self, who: str, after: int = 0, **kw: Any) -> ClientConnection:
        """A console's stream, signed in with ``who``'s bearer token."""
        return connect(f"ws://127.0.0.1:{self.port}/api/v1/alerts/stream?after={after}",
                       additional_headers=self.headers.get(who, {}), open_timeout=30, **kw)

    def raise_alert(self, district: str = "A", device: str | None = None, **kw: Any) -> int:
        """Raise a panic alert at the district's site and commit it; its id."""
        device = device or uuid.uuid4().hex[:8]
        with self.rt.sessions.begin() as session:
            alert = raising.raise_alert(session, Alarm(
                source=Source.PANIC, kind="panic_press", priority=Priority.P1, site_id=self.site_ids[district],
                device=device, dedup_key=f"panic:{device}", **kw))
            return alert.id

    def session(self) -> Session:
        return Session(self.rt.engine)


@contextlib.contextmanager
def serving(kind: str, data_dir: Path, **alerts: Any) -> Iterator[Served]:
    """A committed database of ``kind`` with two districts' sites and users, served by uvicorn on a loopback
    port; ``alerts`` settings on top of quick test values."""
    url, pg_name = migrated_database(kind, data_dir, "kgys_alerts")
    settings = Settings(mode="dev", data_dir=data_dir, database={"url": url}, security={"cookie_secure": False},
                        alerts={"event_poll_seconds": 0.05, "stream_heartbeat_seconds": 1.0, **alerts})
    rt = make_runtime(settings, upgrade=True)
    with rt.sessions.begin() as session:
        factories.tree(session)
        sites = {"A": factories.site(session, district="TR-99-A").id,
                 "B": factories.site(session, district="TR-99-B").id}
        users = {"op_a": factories.user(session, "operator", scope=["TR-99-A"]),
                 "op_a2": factories.user(session, "operator", scope=["TR-99-A"]),
                 "op_b": factories.user(session, "operator", scope=["TR-99-B"]),
                 "admin": factories.user(session, "admin", scope=["TR"]),
                 "auditor": factories.user(session, "auditor", scope=["TR"])}
        headers = {who: {"Authorization": "Bearer " + account_service.issue_token(
            session=session, settings=settings.security, user=u)} for who, u in users.items()}
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = create_app(rt)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                        timeout_graceful_shutdown=5))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for("uvicorn to start", lambda: srv.started or not thread.is_alive(), 30, every=0.01)
    assert srv.started, "uvicorn did not start"
    try:
        yield Served(kind=kind, rt=rt, port=sock.getsockname()[1], site_ids=sites, app=app, headers=headers)
    finally:
        srv.should_exit = True
        thread.join(timeout=30)
        sock.close()
        rt.close()
        if pg_name:
            _pg_drop(pg_name)


@pytest.fixture(scope="module", params=ENGINES)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server whose events travel through the database."""
    with serving(request.param, tmp_path_factory.mktemp(f"alerts-{request.param}")) as s:
        yield s


def alert_row(served: Served, alert_id: int) -> Alert:
    with served.session() as s:
        found = s.get(Alert, alert_id)
        assert found is not None
        return found
from tests.web.conftest import token_for  # noqa: E402, F401  (the web fixture, for the API tests here)
