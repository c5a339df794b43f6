"""The built wheel runs kgys without the source checkout: it carries every file of the package (templates,
translations, migrations, static files, the jurisdiction list) and the browser libraries taken from npm (the
hls.js player, Swagger UI of the API reference), and an installed ``kgys demo`` serves live video of its simulated
cameras and the API reference.

The wheel is built (``pip wheel``, as a user builds it) from a copy of the sources, so that the checkout keeps
no ``build/`` folder between runs. It is installed into a fresh virtual environment outside the checkout; the
pinned dependencies come from this test environment's site-packages through a ``.pth`` file (a plain path:
the editable install of this checkout that lives there stays invisible), so nothing is downloaded twice. Every
command runs from a folder outside the checkout with the virtual environment's own Python.
"""

from __future__ import annotations

import os
import shutil
import signal
import site
import socket
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import kgys
from tests.recording.conftest import clip_h264, media_dir  # noqa: F401  (fixtures)
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "kgys"
BUILD_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "package.json", "package-lock.json")
HLS_IN_WHEEL = ("kgys/static/vendor/hls.js/hls.min.js", "kgys/static/vendor/hls.js/hls.min.js.map",
                "kgys/static/vendor/hls.js/LICENSE", "kgys/static/vendor/swagger-ui/swagger-ui-bundle.js",
                "kgys/static/vendor/swagger-ui/swagger-ui.css", "kgys/static/vendor/swagger-ui/LICENSE",
                "kgys/static/vendor/swagger-ui/NOTICE")
NPM_PACKAGES = ("hls.js", "swagger-ui-dist")
SIM_CLIP_SECONDS = 4  # the length of the shared test clip, which the demo then need not make itself


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _package_files() -> set[str]:
    """Every file of the package in the checkout, as the wheel names it (bytecode caches aside)."""
    return {f"kgys/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and "vendor" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel`` of a copy of the sources (with the checkout's npm packages when it has them)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    for name in BUILD_FILES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "vendor"))
    for name in NPM_PACKAGES:
        if (ROOT / "node_modules" / name).is_dir():
            shutil.copytree(ROOT / "node_modules" / name, source / "node_modules" / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(base / "dist"),
          str(source)], cwd=base)
    return next((base / "dist").glob("kgys-*.whl"))


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its Python."""
    where = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(where / "venv")], cwd=where)
    python = where / "venv" / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=where)
    (Path(purelib.strip()) / "kgys-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
         cwd=where)
    return python


def _env() -> dict[str, str]:
    """The environment of an installed kgys: nothing pointing at the checkout, no settings of the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGYS_") and k != "PYTHONPATH"}
    env.update(KGYS_RECORDING__SIM_CLIP_SECONDS=str(SIM_CLIP_SECONDS), KGYS_RECORDING__FSYNC="false",
               KGYS_RECORDING__SEGMENT_SECONDS="4")
    return env


def test_the_wheel_carries_every_file_of_the_package_and_hls_js(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_package_files() - names)
    assert missing == [], f"not in {wheel.name}: {missing}"
    for name in HLS_IN_WHEEL:
        assert name in names
    assert not any(n.startswith(("tests/", "bench/", "node_modules/")) for n in names)


@pytest.fixture
def demo(venv: Path, clip_h264: Path, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:  # noqa: F811
    """The installed ``kgys demo`` with simulated cameras on a free port, run from outside the checkout; yields
    its URL, data folder and output file, and stops it by its process id."""
    data = tmp_path / "demo"
    (data / "sim").mkdir(parents=True)
    shutil.copy2(clip_h264, data / "sim" / f"clip-h264-{SIM_CLIP_SECONDS}s.mp4")
    upgraded = _run([str(venv), "-m", "kgys", "--mode", "demo", "--data-dir", str(data), "db", "upgrade"],
                    cwd=tmp_path, env=_env())
    assert "database at revision" in upgraded
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "demo.out"
    with out.open("wb") as log:
        proc = subprocess.Popen([str(venv), "-m", "kgys", "demo", "--data-dir", str(data), "--sites", "10",
                                 "--port", str(port)], cwd=tmp_path, env=_env(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, out.read_text(errors="replace")[-3000:]
        try:
            return httpx.get(f"{url}/login", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(f"the installed demo to serve (output in {out})", up, timeout=300, every=0.5)
        yield url, data, out
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 0, out.read_text(errors="replace")[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert "demo stopped" in out.read_text(errors="replace")


def test_the_installed_demo_serves_the_player_and_live_video(venv: Path, demo: tuple[str, Path, Path],
                                                             tmp_path: Path) -> None:
    url, data, out = demo
    where = _run([str(venv), "-c", "import kgys; print(kgys.__file__)"], cwd=tmp_path, env=_env())
    assert Path(where.strip()).is_relative_to(venv.parents[1]), where  # the installed copy, not the checkout
    assert _run([str(venv.parent / "kgys"), "version"], cwd=tmp_path, env=_env()).strip() == kgys.__version__

    login = httpx.get(f"{url}/login", timeout=30)
    assert "Giriş yap" in login.text  # the Turkish catalogue came with the wheel
    player = httpx.get(f"{url}/static/vendor/hls/hls.min.js", timeout=30)
    assert player.status_code == 200 and "javascript" in player.headers["content-type"]
    assert len(player.content) > 100_000 and b"Hls" in player.content
    reference = httpx.get(f"{url}/api/v1/docs", timeout=30)
    assert reference.status_code == 200 and "swagger-ui-bundle.js" in reference.text
    swagger = httpx.get(f"{url}/static/vendor/swagger-ui/swagger-ui-bundle.js", timeout=30)
    assert swagger.status_code == 200 and b"SwaggerUIBundle" in swagger.content

    token = _run([str(venv), "-m", "kgys", "--mode", "demo", "--data-dir", str(data), "users", "token", "operator"],
                 cwd=tmp_path, env=_env()).strip()
    auth = {"Authorization": f"Bearer {token}"}
    with sqlite3.connect(data / "kgys.db") as db:
        row = db.execute("SELECT c.id, s.code FROM cameras c JOIN sites s ON s.id = c.site_id "
                         "WHERE c.stream_url != '' ORDER BY c.id").fetchone()
    assert row is not None, f"the demo runs without cameras:\n{out.read_text(errors='replace')[-3000:]}"
    camera, code = row
    grid = httpx.get(f"{url}/sites/{code}/live", headers=auth, timeout=30)
    assert grid.status_code == 200, grid.text[:2000]
    assert '<script src="/static/vendor/hls/hls.min.js">' in grid.text and 'id="hls-missing"' not in grid.text
    assert f'data-camera="{camera}"' in grid.text

    opened = httpx.post(f"{url}/api/v1/cameras/{camera}/live", json={"reason": "wheel check"}, headers=auth,
                        timeout=30)
    assert opened.status_code == 200, opened.text
    playlist_url = url + opened.json()["playlist"]

    def playlist() -> str | None:
        r = httpx.get(playlist_url, headers=auth, timeout=30)
        return r.text if r.status_code == 200 and ".ts?" in r.text else None

    text = wait_for(f"a live playlist of camera {camera} (output in {out})", playlist, timeout=180, every=0.5)
    first = next(line for line in text.splitlines() if ".ts?" in line)
    segment = httpx.get(playlist_url.rsplit("/", 1)[0] + "/" + first, headers=auth, timeout=30)
    assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    assert len(segment.content) > 1000 and segment.content[0] == 0x47  # MPEG-TS sync byte
