"""Browser fixtures: a demo data directory, the real server on a free port, and Chromium through Playwright.

The server is started as its own process (``kgys serve``) on a copy of the demo data, exactly as an
operator would run it, and stopped by its PID when the session ends. Chromium is Debian's (or
``KGYS_CHROMIUM``); when it is missing the tests fail and say how to install it.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy import select
from tests.conftest import migrated_database
from tests.waiting import wait_for

import kgys
from kgys.accounts.models import User
from kgys.accounts.service import issue_token
from kgys.config import Settings
from kgys.demo import demo_password
from kgys.runtime import Runtime, make_runtime
from kgys.secretbox import SecretBox, load_or_create_key

KGYS = [sys.executable, "-m", "kgys"]  # the command line of this environment's kgys
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
DEMO_SITES = 80


def _env(**extra: str) -> dict[str, str]:
    """The environment for kgys processes: this checkout's code, demo-friendly settings."""
    env = dict(os.environ)
    src = str(Path(kgys.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for key in ("KGYS_CONFIG", "KGYS_DATABASE__URL", "KGYS_DATA_DIR", "KGYS_MODE"):
        env.pop(key, None)
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoServer:
    """The running server and the demo data behind it."""

    url: str
    data_dir: Path
    totp_secrets: dict[str, str] = field(default_factory=dict)
    used_steps: dict[str, int] = field(default_factory=dict)

    def password(self, username: str) -> str:
        """The demo password of ``username`` (derived from the demo folder's own secret key)."""
        return demo_password((self.data_dir / "keys" / "secret.key").read_text().strip(), username)

    def next_code(self, username: str) -> str:
        """A TOTP code of ``username`` the server has not accepted yet (each code works once): the code of
        now, or, when that one was used already, of the next time step, which the server accepts as one step
        of clock drift (its clock is this one, read later: now or the next step, whose window both hold it).
        Only when the next step was used too does it wait for the clock to move on."""
        used = self.used_steps.get(username, -1)

        def fresh() -> int | None:
            now = int(time.time() // 30)
            step = max(used + 1, now)
            return step if step <= now + 1 else None

        step = wait_for("a TOTP time step not used yet", fresh, 40, every=0.5)
        self.used_steps[username] = step
        return str(pyotp.TOTP(self.totp_secrets[username]).at(step * 30))

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of a read-only query on the server's database."""
        db = sqlite3.connect(f"file:{self.data_dir / 'kgys.db'}?mode=ro", uri=True)
        try:
            return list(db.execute(sql, params).fetchall())
        finally:
            db.close()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server wrote (for failure messages)."""
        text = (self.data_dir / "server.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def valid_codes(self, username: str) -> set[str]:
        """The TOTP codes the server accepts for ``username`` right now (one step of drift either way)."""
        totp = pyotp.TOTP(self.totp_secrets[username])
        now = time.time()
        return {totp.at(now + step) for step in (-30, 0, 30)}

    def scalar(self, sql: str, *params: object) -> object:
        """The first value of a read-only query."""
        rows = self.query(sql, *params)
        return rows[0][0] if rows else None


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60.0) -> None:
    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"kgys serve exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            return httpx.get(f"{url}/login", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for("kgys serve to answer", up, timeout, detail=lambda: log.read_text(errors="replace")[-4000:])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """``kgys demo --no-serve`` into a fresh data directory, then ``kgys serve`` on a free port."""
    data = tmp_path_factory.mktemp("browser") / "demo"
    seeded = subprocess.run([*KGYS, "demo", "--no-serve", "--data-dir", str(data), "--sites", str(DEMO_SITES)],
                            capture_output=True, text=True, env=_env(), timeout=300, check=False)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = data / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*KGYS, "--data-dir", str(data), "--mode", "demo", "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=_env(KGYS_SECURITY__COOKIE_SECURE="false"),
        )
    try:
        _wait_until_up(proc, url, log)
        demo = DemoServer(url=url, data_dir=data)
        box = SecretBox(load_or_create_key(data / "keys" / "credentials.key", create=False))
        demo.totp_secrets = {str(u): box.open_text(str(s)) for u, s in demo.query(
            "SELECT username, totp_secret FROM users WHERE totp_secret IS NOT NULL")}
        yield demo
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def school_with_cameras(data: Path, cameras: list[tuple[str, str, str]], role: str, *, second_factor: bool = False
                        ) -> tuple[str, list[int], User]:
    """A demo data folder at ``data``: the test tree, one school in TR-99-A with ``cameras`` (name, codec, stream URL)
    and a user of ``role`` scoped to that district (with a second factor when asked); the school's code, the
    cameras' ids in order and the user."""
    from tests import factories

    from kgys.audit.mechanism import set_actor
    from kgys.cameras.flows import systems as camera_flows
    from kgys.cameras.models import Camera
    from kgys.cameras.schemas import CameraIn

    migrated_database("sqlite", data)  # kgys.db at the newest revision, as the migrations leave it
    rt = make_runtime(Settings(mode="demo", data_dir=data), upgrade=True)
    try:
        with rt.sessions.begin() as session:
            factories.tree(session)
            site = factories.site(session)
            actor = factories.admin()
            set_actor(session, actor)
            for name, codec, url in cameras:
                camera_flows.save_camera(session=session, actor=actor, box=rt.box, code=site.code, data=CameraIn(
                    name=name, megapixels=2.0, width=1920, height=1080, codec=codec, stream_url=url))
            user = factories.user(session, role, scope=["TR-99-A"], **({"box": rt.box} if second_factor else {}))
            code = site.code
            ids = list(session.scalars(select(Camera.id).where(Camera.site_id == site.id).order_by(Camera.id)))
        return code, ids, user
    finally:
        rt.close()


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a kgys process by its PID: SIGTERM, then SIGKILL when it does not end in time."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@contextmanager
def running(data: Path, env: dict[str, str], browser: Browser, username: str, *, workers: tuple[str, ...] = (),
            totp: Callable[[], str] | None = None, password: str | None = None,
            **context: Any) -> Iterator[tuple[str, Page]]:
    """``kgys serve`` on ``data`` (its own port), the ``workers`` started after it, and a Chromium tab signed in as
    ``username`` (with the code of ``totp`` where the role has a second factor); its URL and the tab. Everything
    is stopped by PID at the end; each process logs to ``data/<name>.log``."""
    from tests import factories

    base = [*KGYS, "--data-dir", str(data), "--mode", "demo"]
    procs: list[subprocess.Popen[bytes]] = []
    ctx = browser.new_context(**({"locale": "tr-TR"} | context))
    try:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with (data / "server.log").open("wb") as out:
            procs.append(subprocess.Popen([*base, "serve", "--host", "127.0.0.1", "--port", str(port)], stdout=out,
                                          stderr=subprocess.STDOUT, env=env))
        _wait_until_up(procs[-1], url, data / "server.log")
        for name in workers:
            with (data / f"{name}.log").open("wb") as out:
                procs.append(subprocess.Popen([*base, "worker", name], stdout=out, stderr=subprocess.STDOUT,
                                              env=env))
        ctx.set_default_timeout(20_000)
        page = ctx.new_page()
        page.goto(f"{url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password or factories.PASSWORD)
        submit(page, "form[action='/login'] button[type=submit]")
        if totp is not None:
            page.fill("input[name=code]", totp())
            submit(page, "form[action='/login/totp'] button[type=submit]")
        assert "/login" not in page.url, page.content()[:800]
        yield url, page
    finally:
        ctx.close()
        for proc in reversed(procs):
            stop_process(proc)


@pytest.fixture(scope="module")
def other_process(server: DemoServer) -> Iterator[Runtime]:
    """This test process, writing to the server's database as another process of the system would (the device
    gateway, the recorder, a tracker intake, another server)."""
    rt = make_runtime(Settings(mode="demo", data_dir=server.data_dir), create_keys=False)
    yield rt
    rt.close()


class DemoApi:
    """The server's JSON API as demo users, each with a bearer token issued in the database."""

    def __init__(self, server: DemoServer, rt: Runtime, users: tuple[str, ...] = ("operator", "supervisor")) -> None:
        self.server = server
        self.rt = rt
        self.url = server.url + "/api/v1"
        self.headers: dict[str, dict[str, str]] = {}
        with rt.sessions.begin() as session:
            for name in users:
                user = session.scalars(select(User).where(User.username == name)).one()
                token = issue_token(session=session, settings=rt.settings.security, user=user)
                self.headers[name] = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, who: str = "operator", **kw: Any) -> Any:
        """``method path`` as ``who``; fails the test on any answer but 2xx."""
        r = httpx.request(method, self.url + path, headers=self.headers[who], timeout=30, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """The Playwright driver for the whole run."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (or KGYS_CHROMIUM), headless."""
    path = os.environ.get("KGYS_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(f"Chromium not found at {path}: install it (apt-get install chromium) or set KGYS_CHROMIUM "
                    "to a Chromium executable; the browser tests need a real browser.", pytrace=False)
    b = playwright_driver.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def context(browser: Browser, server: DemoServer) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) pointed at the server."""
    ctx = browser.new_context(base_url=server.url, locale="tr-TR")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in a fresh profile."""
    return context.new_page()


def submit(page: Page, selector: str) -> None:
    """Click a button or link and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def sign_in(page: Page, server: DemoServer, username: str, password: str | None = None) -> None:
    """Sign in through the login form, typing the TOTP code when the account has a second factor."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or server.password(username))
    submit(page, "form[action='/login'] button[type=submit]")
    if "/login/totp" in page.url:
        page.fill("input[name=code]", server.next_code(username))
        submit(page, "form[action='/login/totp'] button[type=submit]")
    assert "/login" not in page.url, (f"{username} could not sign in: {page.inner_text('main')[:500]}\n"
                                      f"server log:\n{server.log_tail()}")
