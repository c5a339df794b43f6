"""Over HTTP, on a committed database: while a writer holds the database, reading requests are answered at
once, and a writing request that cannot get in within the configured wait is answered 503 with Retry-After —
never 500, never a hang — with nothing written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from kgys.accounts import service as account_service
from kgys.accounts import signin
from kgys.config import Settings
from kgys.db import reading, transaction
from kgys.runtime import Runtime, make_runtime
from kgys.sites.models import Site
from kgys.web.app import create_app
from tests import factories


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[tuple[Runtime, dict[str, str], str]]:
    """A SQLite runtime whose writers wait at most 0.5 s, a site, and an administrator's bearer header."""
    settings = Settings(mode="dev", data_dir=tmp_path, security={"cookie_secure": False},
                        database={"busy_seconds": 0.5})
    rt = make_runtime(settings, upgrade=True)
    with transaction(rt.sessions) as session:
        factories.tree(session)
        code = factories.site(session).code
        admin = factories.user(session, "admin", ["TR"])
        token = account_service.issue_token(session=session, settings=rt.settings.security, user=admin)
    try:
        yield rt, {"Authorization": f"Bearer {token}"}, code
    finally:
        rt.close()


@contextmanager
def _held(rt: Runtime, code: str) -> Iterator[None]:
    """Another writer holds the database (it changed the site's student count and has not committed) while the
    block runs; it commits after."""
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with transaction(rt.sessions) as s:
            s.execute(update(Site).where(Site.code == code).values(student_count=7))
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(30)
        yield
    finally:
        release.set()
        thread.join(30)


def test_reads_answer_and_writes_get_503_while_the_database_is_held(
        committed: tuple[Runtime, dict[str, str], str]) -> None:
    rt, headers, code = committed
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as client:
        version = client.get(f"/api/v1/sites/{code}", headers=headers).json()["version"]
        with _held(rt, code):
            read = client.get(f"/api/v1/sites/{code}", headers=headers)
            assert read.status_code == 200 and read.json()["version"] == version
            write = client.patch(f"/api/v1/sites/{code}", headers=headers, json={"version": version, "priority": 1})
            assert write.status_code == 503, write.text
            assert write.headers["retry-after"] == "1"
            assert write.json()["error"]["type"] == "Busy"
        with reading(rt.sessions) as s:
            site = s.scalars(select(Site).where(Site.code == code)).one()
            assert (site.student_count, site.version) == (7, version)
        again = client.patch(f"/api/v1/sites/{code}", headers=headers, json={"version": version, "priority": 1})
        assert again.status_code == 200, again.text


def test_a_writing_request_is_refused_a_bad_token_without_waiting_for_the_writer(
        committed: tuple[Runtime, dict[str, str], str]) -> None:
    # Its caller is read before its writing unit of work begins (which waits for the write lock): an unknown
    # caller is refused at once, not answered 503 after the wait.
    rt, _, code = committed
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as client, _held(rt, code):
        write = client.patch(f"/api/v1/sites/{code}", headers={"Authorization": "Bearer not-a-token"},
                             json={"version": 1, "priority": 1})
        assert write.status_code == 401, write.text


@pytest.mark.parametrize("password, status", [(factories.PASSWORD, 200), ("wrong-password-entirely", 401)])
def test_a_sign_in_checks_the_password_before_it_takes_the_write_lock(
        committed: tuple[Runtime, dict[str, str], str], monkeypatch: pytest.MonkeyPatch, password: str,
        status: int) -> None:
    rt, _, _ = committed
    with transaction(rt.sessions) as session:
        user = factories.user(session, "operator")
    checked: list[bool] = []
    real = signin.security.verify_password

    def verify_while_writing_elsewhere(stored: str, given: str) -> bool:
        # Another writer of this process gets in at once: the sign-in holds no write lock while it hashes.
        with transaction(rt.sessions) as other:
            other.execute(update(Site).values(student_count=Site.student_count))
        checked.append(True)
        return real(stored, given)

    monkeypatch.setattr(signin.security, "verify_password", verify_while_writing_elsewhere)
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as client:
        r = client.post("/api/v1/auth/token", json={"username": user.username, "password": password})
    assert r.status_code == status, r.text
    assert checked == [True]
