"""kgys-verify runs on its own: in a fresh virtual environment where kgys cannot be imported, with only the
``verify/`` sources on the path (``python -m kgys_verify``) and installed from its own built wheel (the
``kgys-verify`` command). Exit codes: 0 verified, 1 a problem, 2 a wrong command line, 3 no published key.

The environment sees this test environment's site-packages through a ``.pth`` file (a plain path, so the
editable install of kgys that lives there stays invisible), for ``cryptography``; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kgys.audit.signing import Signer, public_pem
from kgys.evidence.package_build import build_package
from tests.evidence.material import Camera, cameras, memory_proof, package_in  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
VERIFY = ROOT / "verify"


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a fresh virtual environment that can import cryptography but not kgys."""
    where = tmp_path_factory.mktemp("verify-venv")
    done = _run([sys.executable, "-m", "venv", "--without-pip", str(where / "venv")], where, dict(os.environ))
    assert done.returncode == 0, done.stderr
    py = where / "venv" / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], where,
                   _env()).stdout.strip()
    (Path(purelib) / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return py


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGYS_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def package(cameras: list[Camera], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:  # noqa: F811
    """A package and the published key that checks it."""
    where = tmp_path_factory.mktemp("verify-package")
    signer = Signer(Ed25519PrivateKey.generate())
    built = build_package(package=package_in(cameras, memory_proof(signer)), signer=signer, out=where / "p.zip")
    key = where / "published.pem"
    key.write_text(public_pem(signer.public))
    return built.path, key


def test_kgys_cannot_be_imported_there(python: Path, tmp_path: Path) -> None:
    done = _run([str(python), "-c", "import kgys"], tmp_path, _env(PYTHONPATH=str(VERIFY / "src")))
    assert done.returncode != 0 and "No module named 'kgys'" in done.stderr
    done = _run([str(python), "-c", "import cryptography, kgys_verify"], tmp_path, _env(PYTHONPATH=str(VERIFY / "src")))
    assert done.returncode == 0, done.stderr


def test_python_m_kgys_verify_with_only_its_sources(python: Path, package: tuple[Path, Path], tmp_path: Path) -> None:
    zip_path, key = package
    env = _env(PYTHONPATH=str(VERIFY / "src"))
    cmd = [str(python), "-m", "kgys_verify"]
    done = _run([*cmd, str(zip_path), "--key", str(key)], tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("kgys-verify 0.1.0\nEvidence package: ")
    assert "Approved by supervisor.mehmet (supervisor)" in done.stdout
    assert done.stdout.rstrip().endswith("and the package is signed by the published key.")

    unkeyed = _run([*cmd, str(zip_path)], tmp_path, env)
    assert unkeyed.returncode == 3 and "BUT the signing key was not checked" in unkeyed.stdout

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(zip_path) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info) if info.filename != "segments/camera-4/401.ts" else b"x")
    failed = _run([*cmd, str(bad), "--key", str(key), "--quiet"], tmp_path, env)
    assert failed.returncode == 1
    assert "FAILED file segments/camera-4/401.ts: its size is 1 bytes" in failed.stdout
    assert "\nOK " not in failed.stdout and "RESULT: NOT VERIFIED. 1 problem found" in failed.stdout

    as_json = _run([*cmd, str(bad), "--key", str(key), "--json"], tmp_path, env)
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and report["verified"] is False and report["exit_code"] == 1
    assert [f["subject"] for f in report["findings"] if f["status"] == "FAILED"] == ["file segments/camera-4/401.ts"]

    usage = _run([*cmd], tmp_path, env)
    assert usage.returncode == 2 and "usage: kgys-verify" in usage.stderr
    missing_key = _run([*cmd, str(zip_path), "--key", str(tmp_path / "none.pem")], tmp_path, env)
    assert missing_key.returncode == 1 and "cannot read the key file" in missing_key.stderr


def test_the_installed_command(python: Path, package: tuple[Path, Path], tmp_path: Path) -> None:
    source = tmp_path / "verify"
    shutil.copytree(VERIFY, source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build"))
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                 str(source)], tmp_path, _env())
    assert done.returncode == 0, done.stdout + done.stderr
    zip_path, key = package
    command = python.parent / "kgys-verify"
    ok = _run([str(command), str(zip_path), "--key", str(key)], tmp_path, _env())
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "RESULT: VERIFIED" in ok.stdout
    assert _run([str(command), "--version"], tmp_path, _env()).stdout.strip() == "kgys-verify 0.1.0"
