"""The audit page's verification shows how many checkpoints still wait for a witness, when witnesses are set."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.runtime import Runtime
from kgys.web.app import create_app
from tests import factories
from tests.audit.test_scheduled import _append, _with_witness
from tests.web.test_pages import _csrf, html, signed_in


def _verify_page(rt: Runtime, session: Session) -> str:
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as client:
        signed_in(client, session, "admin", ["TR"], totp=True)
        r = client.post("/audit/verify", data={"csrf_token": _csrf(client, "/audit")})
        assert r.status_code == 200
        return r.text


def test_checkpoints_owed_to_witnesses_are_counted(rt: Runtime, session: Session, tmp_path: Path) -> None:
    factories.tree(session)
    assert 'id="verify-witnesses-owed"' not in _verify_page(rt, session)  # no witnesses: no figure
    rt = _with_witness(rt, tmp_path / "disk")
    _append(rt, 2)
    with rt.sessions.begin() as s:
        audit_service.checkpoint(s, rt.signer)
    assert html(_verify_page(rt, session)).one(id="verify-witnesses-owed").text() == "1"
    witness_mod.deliver_pending(sessions=rt.sessions, witnesses=witness_mod.build(rt.settings.audit.witnesses),
                                retry=witness_mod.RetryPolicy())
    assert html(_verify_page(rt, session)).one(id="verify-witnesses-owed").text() == "0"
