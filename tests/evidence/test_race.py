"""Two approvers answer one granted request at the same moment, on a committed database (SQLite and PostgreSQL):
exactly one approval is kept, the other approver is told the request changed (or is already approved), and nothing
of the losing attempt is left behind."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor
from kgys.audit.models import AuditEntry
from kgys.cameras.models import Camera
from kgys.db import make_engine, transaction, utcnow
from kgys.errors import Conflict
from kgys.evidence import documents
from kgys.evidence.flows import decisions, requests
from kgys.evidence.flows.decisions import DecisionIn
from kgys.evidence.models import Approval, FootageRequest
from kgys.evidence.rules import Range
from kgys.runtime import make_runtime
from tests import factories
from tests.conftest import ENGINES, _pg_create, _pg_drop, settings_for
from tests.evidence.conftest import PDF


@pytest.mark.parametrize("kind", ENGINES)
def test_of_two_approvers_at_once_exactly_one_wins(kind: str, tmp_path: Path) -> None:
    name = f"kgys_evrace_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _pg_create(name) if kind == "postgresql" else f"sqlite:///{tmp_path / 'race.db'}"
    engine = make_engine(settings_for(tmp_path, url), url=url)
    try:
        rt = make_runtime(settings_for(tmp_path, url), engine=engine, upgrade=True)
        now = utcnow()
        with transaction(rt.sessions) as s:
            factories.tree(s)
            site = factories.site(s, "TR-99-A")
            factories.compliant_system(s, rt.box, site.code)
            users: dict[str, Actor] = {
                label: account_service.actor_for(factories.user(s, role, username=label))
                for label, role in (("inv", "investigator"), ("liaison", "judicial_liaison"),
                                    ("sup1", "supervisor"), ("sup2", "supervisor"))}
            cam = s.scalar(select(Camera.id).where(Camera.site_id == site.id).limit(1))
            assert cam is not None
            item = Range(cam, now - timedelta(hours=2), now - timedelta(hours=1))
            req = requests.open_request(session=s, actor=users["inv"], investigation_no="2026/5",
                                        requesting_unit="Asayiş", purpose="yağma", items=[item],
                                        wait=timedelta(days=15), now=now)
            upload = documents.Upload.receive(iter([PDF]), name="k.pdf", data_dir=tmp_path, limit=2**20)
            decisions.record_decision(session=s, actor=users["liaison"], request_id=req.id, data=DecisionIn(
                outcome="granted", authority_kind="prosecutor", authority_name="Ankara Cumhuriyet Başsavcılığı",
                decision_no="2026/9", decision_date=date.today(), provision="CMK 134",
                valid_until=now + timedelta(days=30), refusal_reason="", scope=[item]), upload=upload,
                data_dir=tmp_path, version=None, now=now)
            request_id, version = req.id, req.version
        both_read = threading.Barrier(2, timeout=30) if kind == "postgresql" else None
        results: dict[str, str] = {}

        def approver(label: str) -> None:
            try:
                with transaction(rt.sessions) as s:
                    seen = s.get(FootageRequest, request_id)
                    assert seen is not None
                    if both_read is not None:
                        assert seen.version == version
                        both_read.wait()  # each saw the request granted before either wrote
                    decisions.answer(session=s, actor=users[label], request_id=request_id, approve=True,
                                     note=f"onay {label}", version=None, now=now)
                results[label] = "approved"
            except Conflict as exc:
                results[label] = f"409 {exc.message}"

        threads = [threading.Thread(target=approver, args=(label,)) for label in ("sup1", "sup2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(r.split(" ")[0] for r in results.values()) == ["409", "approved"], results
        winner = next(label for label, r in results.items() if r == "approved")
        with transaction(rt.sessions) as s:
            rows = list(s.scalars(select(Approval)))
            assert [(r.approver_name, r.note) for r in rows] == [(winner, f"onay {winner}")]
            row = s.get(FootageRequest, request_id)
            assert row is not None and (row.state, row.version) == ("approved", version + 1)
            assert s.scalar(select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.action == "evidence_approval.create")) == 1
        rt.close()
    finally:
        engine.dispose()
        if kind == "postgresql":
            _pg_drop(name)
