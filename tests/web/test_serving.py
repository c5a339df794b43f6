"""``kgys serve --workers N``: N processes answer on one port; one that dies is started again, and stopping
the parent stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import kgys
from tests.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def _two_workers(pid: int, without: int | None = None) -> set[int] | None:
    """The parent's two children, once it has two and ``without`` is not one of them."""
    children = _children(pid)
    return children if len(children) == 2 and without not in children else None


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/health", timeout=5.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``kgys serve --workers 2`` on a fresh SQLite data directory and a free port."""
    env = dict(os.environ)
    for key in ("KGYS_CONFIG", "KGYS_DATABASE__URL", "KGYS_DATA_DIR", "KGYS_MODE"):
        env.pop(key, None)
    env["PYTHONPATH"] = str(Path(kgys.__file__).resolve().parents[1])
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kgys", "--data-dir", str(tmp_path / "data"), "--mode", "dev",
                                 "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, f"http://127.0.0.1:{port}", log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT and /proc")
def test_workers_share_the_port_are_restarted_and_stop_with_the_parent(
        served: tuple[subprocess.Popen[bytes], str, Path]) -> None:
    proc, url, log = served

    def up() -> bool:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        return _healthy(url)

    wait_for("kgys serve to answer", up, timeout=120)
    workers = wait_for("two worker processes", lambda: _two_workers(proc.pid), timeout=60)
    with httpx.Client(base_url=url, timeout=10.0) as client:
        # a new connection each time: the kernel spreads them over both workers' sockets
        answers = [client.get("/api/v1/health", headers={"Connection": "close"}).status_code for _ in range(20)]
    assert answers == [200] * 20

    gone = min(workers)
    os.kill(gone, signal.SIGKILL)
    replaced = wait_for("the dead worker to be replaced", lambda: _two_workers(proc.pid, gone), timeout=60)
    assert replaced - workers
    wait_for("the server to answer after the restart", lambda: _healthy(url), timeout=60)

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    for pid in replaced:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    assert not _healthy(url)


def test_websockets_are_not_compressed(served: tuple[subprocess.Popen[bytes], str, Path]) -> None:
    """Live video does not shrink: the server turns down permessage-deflate, which a browser always offers
    (compressing every frame cost more CPU than following, remuxing and sending it)."""
    proc, url, log = served

    def up() -> bool:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        return _healthy(url)

    wait_for("kgys serve to answer", up, timeout=120)
    with connect(url.replace("http", "ws") + "/live/1/ws", compression="deflate") as ws:  # no ticket: closed 4403
        offered = ws.request.headers.get("Sec-WebSocket-Extensions") if ws.request is not None else None
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions") if ws.response is not None else None
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert offered is not None and "permessage-deflate" in offered
    assert agreed is None
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
