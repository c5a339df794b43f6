"""Appending many entries at once: the same chain, checkpoints and visibility as one append at a time."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from kgys.audit import service as audit_service
from kgys.audit.verify import verify_database
from kgys.runtime import Runtime
from tests import factories


def _entries(n: int) -> list[audit_service.NewEntry]:
    return [audit_service.NewEntry(action="test.write", object_type="thing", object_id=i, reason="gerekçe",
                                   details={"i": i, "ad": "Ayşe"}) for i in range(n)]


def test_append_many_chains_like_single_appends(rt: Runtime, session: Session) -> None:
    session.info[audit_service.CHECKPOINT_EVERY_KEY] = 3
    first = audit_service.append(session, actor=factories.admin(), action="test.write", object_type="thing",
                                 object_id="x")
    seqs = audit_service.append_many(session, actor=factories.admin(), entries=_entries(7))
    assert seqs == list(range(first + 1, first + 8))
    rows = session.execute(text("SELECT seq, object_id, details FROM audit_entries ORDER BY seq")).all()
    assert [r.seq for r in rows] == [first, *seqs]
    assert rows[-1].details == '{"ad":"Ayşe","i":6}'
    cps = session.execute(text("SELECT seq FROM audit_checkpoints ORDER BY seq")).scalars().all()
    assert list(cps) == [s for s in [first, *seqs] if s % 3 == 0]
    report = verify_database(session.connection(), rt.signer.public)
    assert report.ok, report.problems
    assert report.last_seq == seqs[-1]


def test_append_many_of_nothing_writes_nothing(session: Session) -> None:
    assert audit_service.append_many(session, actor=factories.admin(), entries=[]) == []
    assert session.execute(text("SELECT count(*) FROM audit_entries")).scalar() == 0


def test_one_flush_of_many_changes_gives_one_entry_each_in_order(rt: Runtime, session: Session) -> None:
    factories.tree(session)
    sites = [factories.site(session, name=f"Okul {i}") for i in range(4)]
    for i, s in enumerate(sites):
        s.name = f"Yeni Okul {i}"
    session.flush()
    rows = session.execute(text("SELECT action, object_id, details FROM audit_entries "
                                "WHERE action = 'site.update' ORDER BY seq")).all()
    assert sorted(r.object_id for r in rows) == sorted(s.code for s in sites)
    assert all('"fields":["name"]' in r.details for r in rows)
    assert verify_database(session.connection(), rt.signer.public).ok
