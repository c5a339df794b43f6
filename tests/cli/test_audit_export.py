"""An outsider verifies an exported log with only the published public key."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kgys.audit import service as audit_service
from kgys.cli.main import app
from kgys.config import Settings
from kgys.runtime import make_runtime
from tests import factories


def _seed(data: Path, n: int = 25) -> None:
    rt = make_runtime(Settings(mode="dev", data_dir=data), upgrade=True)
    with rt.sessions.begin() as s:
        for i in range(n):
            audit_service.append(s, actor=factories.admin(), action="site.update", object_type="site",
                                 object_id=f"S{i}", reason="düzeltme \"tırnak\"")
        audit_service.checkpoint(s, rt.signer)
    rt.close()


def test_export_verifies_offline_and_tampering_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _seed(data)
    runner = CliRunner()
    base = ["--data-dir", str(data), "--mode", "dev"]
    pub = tmp_path / "kgys-audit.pub.pem"
    r = runner.invoke(app, [*base, "audit", "public-key"])
    assert r.exit_code == 0, r.output
    pub.write_text(r.output)
    export = tmp_path / "audit.jsonl"
    assert runner.invoke(app, [*base, "audit", "export", str(export)]).exit_code == 0
    cps = runner.invoke(app, [*base, "audit", "checkpoints"])
    assert json.loads(cps.output.splitlines()[0])["seq"] == 25

    ok = runner.invoke(app, ["audit", "verify", "--file", str(export), "--public-key", str(pub)])
    assert ok.exit_code == 0, ok.output
    assert "25 entries" in ok.output

    lines = export.read_text(encoding="utf-8").splitlines()
    tampered = [json.loads(x) for x in lines]
    for obj in tampered:
        if obj["type"] == "entry" and obj["seq"] == 7:
            obj["reason"] = "başka bir gerekçe"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in tampered) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["audit", "verify", "--file", str(bad), "--public-key", str(pub)])
    assert r.exit_code == 1
    assert "entry 7" in r.output

    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join(x for x in lines if '"seq": 25,' not in x or '"checkpoint"' in x) + "\n",
                       encoding="utf-8")
    r = runner.invoke(app, ["audit", "verify", "--file", str(dropped), "--public-key", str(pub)])
    assert r.exit_code == 1
    assert "entry 25" in r.output


def test_export_that_is_not_an_export_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "x.jsonl"
    f.write_text('{"type": "entry"}\nnot json\n')
    pub = tmp_path / "k.pem"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kgys.audit.signing import public_pem

    pub.write_text(public_pem(Ed25519PrivateKey.generate().public_key()))
    r = CliRunner().invoke(app, ["audit", "verify", "--file", str(f), "--public-key", str(pub)])
    assert r.exit_code == 2
    assert "row 1" in r.output
