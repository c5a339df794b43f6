"""Checking an evidence package with ``kgys-verify``, next to ``sha256sum`` of the same files in the same run.

A package of ``--files`` clips of ``--mb`` MiB each (random bytes: hashing does not care what the bytes are) is
built with :func:`kgys.evidence.package_build.build_package` and signed, with a signed audit entry and checkpoint
in its manifest; its files are also unpacked into a folder. Then, alternating, ``--repeat`` times each (after one
warm-up run of each, so that every row reads from the page cache alike):

- ``sha256sum``: coreutils over the unpacked files (the bare baseline: one process, one file after another);
- ``kgys-verify`` (zip): ``python -m kgys_verify PACKAGE --key KEY`` end to end, process start included, hashing
  the members in place in the zip, several files at once;
- ``kgys-verify`` (folder): the same over the unpacked folder;
- ``kgys-verify --workers 1``: one file after another, as ``sha256sum`` does;
- ``openssl dgst -sha256`` over the unpacked files, when ``openssl`` is installed (a second reference).

The median wall time of each is reported with its ratio to ``sha256sum``. Every run must end in exit status 0.

Run: ``.venv/bin/python -m bench.evidence_verify --files 4 --mb 512``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench import common
from kgys.audit.canonical import GENESIS_HASH, chain_hash, entry_payload
from kgys.audit.checkpoints import Checkpoint, as_record, message, own_hash
from kgys.audit.signing import Signer, public_pem
from kgys.evidence.package import (
    Approval,
    AuditProof,
    ClipIn,
    DecisionRef,
    PackageIn,
    Recipient,
    RequestRef,
    SegmentLink,
)
from kgys.evidence.package_build import build_package

GOAL = 1.2
VERIFY_SRC = common.ROOT / "verify" / "src"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _proof(signer: Signer) -> AuditProof:
    ts = T0 + timedelta(days=2)
    rec = {"seq": 1, "ts": ts.isoformat(timespec="microseconds"), "actor_id": 1, "actor": "liaison",
           "action": "evidence.release", "object_type": "release", "object_id": "1", "site_id": None,
           "reason": "bench", "legal_basis": "bench", "before_digest": None, "after_digest": None, "details": "{}",
           "prev_hash": GENESIS_HASH}
    rec["entry_hash"] = chain_hash(GENESIS_HASH, entry_payload(
        seq=1, ts=ts, actor_id=1, actor="liaison", action="evidence.release", object_type="release", object_id="1",
        site_id=None, reason="bench", legal_basis="bench", before_digest=None, after_digest=None, details="{}"))
    cp = Checkpoint(1, str(rec["entry_hash"]), ts, signer.key_id, "", GENESIS_HASH)
    cp = cp._replace(signature=signer.sign(message(cp)))
    return AuditProof(entries=[rec], checkpoints=[as_record(cp, own_hash(cp, GENESIS_HASH))])


def _clip_file(path: Path, mib: int, seed: int) -> None:
    block = bytearray(os.urandom(1 << 24))
    with path.open("wb") as fh:
        for i in range(max(1, mib // 16)):
            block[:16] = seed.to_bytes(8, "big") + i.to_bytes(8, "big")
            fh.write(block)


def make_package(where: Path, files: int, mib: int) -> tuple[Path, Path, Path]:
    """Build the package; returns it, the published key and the folder with its files unpacked."""
    signer = Signer(Ed25519PrivateKey.generate())
    clips = []
    for n in range(files):
        path = where / f"clip{n}.mp4"
        _clip_file(path, mib, n)
        seg = SegmentLink(id=n, start=T0, end=T0 + timedelta(hours=1), bytes=1, sha256="ab" * 32,
                          prev_sha256="cd" * 32)
        clips.append(ClipIn(path=path, camera_id=n + 1, camera_name=f"cam {n + 1}", site_code="S", site_name="Site",
                            start=T0, end=T0 + timedelta(hours=1), segments=[seg]))
    pkg = PackageIn(package_id="bench", request=RequestRef("1", "1", "unit"),
                    decision=DecisionRef("court", "1", date(2026, 3, 2)), approvals=[Approval("a", "b", T0)],
                    recipient=Recipient("r"), clips=clips, audit=_proof(signer), zone=ZoneInfo("Europe/Istanbul"),
                    created_at=T0 + timedelta(days=3))
    built = build_package(package=pkg, signer=signer, out=where / "package.zip")
    for c in clips:
        c.path.unlink()
    key = where / "published.pem"
    key.write_text(public_pem(signer.public))
    folder = where / "unpacked"
    with zipfile.ZipFile(built.path) as zf:
        zf.extractall(folder)
    return built.path, key, folder


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {done.returncode}: {done.stderr.decode()[-2000:]}")
    return took


def compare(*, package: Path, key: Path, clips: list[str], folder: Path | None, label: str, repeat: int,
            max_seconds: float) -> tuple[list[list[str]], list[str]]:
    """Time ``kgys-verify`` on ``package`` (and on ``folder``, its unpacked copy, when given) next to ``sha256sum``
    of ``clips`` (the same bytes as the package's clips), alternately, ``repeat`` times each after one warm-up run
    of each; the table's rows (``label`` names the package) and notes."""
    total = sum(Path(p).stat().st_size for p in clips)
    env = dict(os.environ, PYTHONPATH=str(VERIFY_SRC))
    verify = [sys.executable, "-m", "kgys_verify", "--quiet", "--key", str(key)]
    commands = {"sha256sum": ["sha256sum", *clips], "kgys-verify (zip)": [*verify, str(package)]}
    if folder is not None:
        commands["kgys-verify (folder)"] = [*verify, str(folder)]
    commands["kgys-verify --workers 1 (zip)"] = [*verify, "--workers", "1", str(package)]
    if shutil.which("openssl"):  # a second reference: OpenSSL's SHA-256, which hashlib uses too
        commands["openssl dgst -sha256"] = ["openssl", "dgst", "-sha256", *clips]
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm-up: everything in the page cache
        _timed(cmd, env)
    deadline = common.Deadline(max_seconds)
    for _ in range(repeat):
        for name, cmd in commands.items():
            times[name].append(_timed(cmd, env))
        if deadline.expired:
            break
    base = statistics.median(times["sha256sum"])
    rows = []
    for name, samples in times.items():
        med = statistics.median(samples)
        ratio = med / base
        goal = "yes" if ratio <= GOAL else "NO"
        if not name.startswith("kgys-verify ("):
            goal = ""
        rows.append([name, label, str(len(samples)), f"{med:.3f}", f"{min(samples):.3f}",
                     f"{total / med / 2**20:,.0f}", f"{ratio:.2f}", goal])
    notes = [f"- Goal: `kgys-verify` ≤ {GOAL} × `sha256sum` of the same files (median wall time).",
             "- `kgys-verify` also reads the manifest, checks the Ed25519 signatures, the segment chain and the "
             "audit entries; process start is included in every row.",
             f"- {os.cpu_count()} processors; `kgys-verify` hashes up to one file per processor at once, "
             "`sha256sum` one file after another.",
             "- `hashlib` computes SHA-256 with OpenSSL, which uses the processor's SHA instructions where it has "
             "them; coreutils' `sha256sum` may not (the `openssl dgst` row shows the difference on this machine)."]
    return rows, notes


HEADERS = ["what", "package", "runs", "median s", "best s", "MiB/s", "÷ sha256sum", f"goal ≤ {GOAL}×"]


def run(args: argparse.Namespace, where: Path) -> tuple[list[list[str]], list[str]]:
    """Build, then time every command alternately; the table's rows and notes."""
    package, key, folder = make_package(where, args.files, args.mb)
    clips = sorted(str(p) for p in (folder / "clips").iterdir())
    return compare(package=package, key=key, clips=clips, folder=folder, label=f"{args.files} × {args.mb} MiB",
                   repeat=args.repeat, max_seconds=args.max_seconds)


def main() -> None:
    """Parse options, run, print (and optionally append) the results."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=4, help="clips in the package (default 4)")
    p.add_argument("--mb", type=int, default=256, help="MiB per clip (default 256)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs of each command; the median is reported")
    p.add_argument("--max-seconds", type=float, default=300.0, help="stop repeating after this long")
    p.add_argument("--append-results", action="store_true",
                   help="append the table, machine, date, commit and command to bench/RESULTS.md")
    args = p.parse_args()
    if shutil.which("sha256sum") is None:
        raise SystemExit("sha256sum (coreutils) is needed for the baseline")
    common.install_signal_cleanup()
    with tempfile.TemporaryDirectory(prefix="kgys-bench-evidence-") as tmp:
        rows, notes = run(args, Path(tmp))
    body = common.table(HEADERS, rows)
    common.report("Evidence package verification", body, kinds=[], append=args.append_results, notes=notes)


if __name__ == "__main__":
    main()
