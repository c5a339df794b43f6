"""The audit chain: appends chain, verification names the first bad entry."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from kgys.audit import service as audit_service
from kgys.audit.verify import verify_database
from kgys.runtime import Runtime
from tests import factories


def _drop_guards(session: Session) -> None:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_entries_no_update"))
        conn.execute(text("DROP TRIGGER audit_entries_no_delete"))


def _fill(session: Session, n: int = 10) -> None:
    for i in range(n):
        audit_service.append(session, actor=factories.admin(), action="test.write", object_type="thing",
                             object_id=i, reason="because")
    session.flush()


def test_appends_form_a_valid_chain(rt: Runtime, session: Session) -> None:
    _fill(session)
    report = verify_database(session.connection(), rt.signer.public)
    assert report.ok, report.problems
    assert report.entries == 10
    assert report.last_seq == 10


def test_update_is_refused_by_the_database(session: Session) -> None:
    _fill(session, 2)
    with pytest.raises(Exception, match="append-only"):
        with session.begin_nested():
            session.execute(text("UPDATE audit_entries SET actor='x' WHERE seq=1"))


def test_altered_entry_is_named(rt: Runtime, session: Session) -> None:
    _fill(session)
    _drop_guards(session)
    session.execute(text("UPDATE audit_entries SET reason='forged' WHERE seq=4"))
    report = verify_database(session.connection(), rt.signer.public)
    assert not report.ok
    assert report.problems[0].seq == 4
    assert report.problems[0].kind == "altered"


def test_deleted_entry_is_named(rt: Runtime, session: Session) -> None:
    _fill(session)
    _drop_guards(session)
    session.execute(text("DELETE FROM audit_entries WHERE seq=6"))
    report = verify_database(session.connection(), rt.signer.public)
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "deleted")]


def test_forged_entry_is_named(rt: Runtime, session: Session) -> None:
    _fill(session)
    last = session.execute(text("SELECT entry_hash, ts FROM audit_entries WHERE seq=10")).one()
    session.execute(
        text("INSERT INTO audit_entries (seq, ts, actor_id, actor, action, object_type, object_id, details, "
             "prev_hash, entry_hash) VALUES (11, :ts, NULL, 'mallory', 'site.update', 'site', 'X', '{}', "
             ":prev, :h)"),
        {"ts": last.ts, "prev": last.entry_hash, "h": "f" * 64},
    )
    report = verify_database(session.connection(), rt.signer.public)
    assert report.problems[0].seq == 11


def test_truncated_tail_is_caught_by_checkpoint(rt: Runtime, session: Session) -> None:
    _fill(session, 5)
    assert audit_service.checkpoint(session, rt.signer) == 5
    _drop_guards(session)
    session.execute(text("DELETE FROM audit_entries WHERE seq=5"))
    report = verify_database(session.connection(), rt.signer.public)
    assert report.problems[0].kind == "deleted"
    assert report.problems[0].seq == 5


def test_checkpoint_with_wrong_key_fails(rt: Runtime, session: Session) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _fill(session, 3)
    audit_service.checkpoint(session, rt.signer)
    report = verify_database(session.connection(), Ed25519PrivateKey.generate().public_key())
    assert report.problems[0].kind == "checkpoint"


def test_site_change_is_audited_in_same_transaction(rt: Runtime, session: Session) -> None:
    factories.tree(session)
    site = factories.site(session, name="Atatürk İlkokulu")
    site.name = "Atatürk İlkokulu (yeni)"
    session.flush()
    rows = session.execute(text("SELECT action, object_id, details FROM audit_entries "
                                "WHERE object_type='site' ORDER BY seq")).all()
    assert [r.action for r in rows] == ["site.create", "site.update"]
    assert rows[1].object_id == site.code
    assert "Atatürk İlkokulu (yeni)" in rows[1].details
    assert verify_database(session.connection(), rt.signer.public).ok


def test_truncate_is_refused_on_postgresql(session: Session) -> None:
    _fill(session, 2)
    if session.connection().dialect.name != "postgresql":
        # SQLite has no TRUNCATE; DELETE without WHERE meets the row trigger.
        with pytest.raises(Exception, match="append-only"), session.begin_nested():
            session.execute(text("DELETE FROM audit_entries"))
        return
    with pytest.raises(Exception, match="append-only"), session.begin_nested():
        session.execute(text("TRUNCATE audit_entries"))
