"""A database upgraded from revision 0004 keeps its unchained checkpoints valid, and the first checkpoint
signed after the upgrade seals them into the checkpoint chain."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, insert, text

from kgys import migrate
from kgys.audit import service as audit_service
from kgys.audit.canonical import GENESIS_HASH, chain_hash, entry_payload
from kgys.audit.checkpoints import chain_head
from kgys.audit.models import AuditEntry
from kgys.audit.signing import Signer, checkpoint_message, load_or_create_signer
from kgys.audit.verify import read_checkpoints, verify_database
from kgys.db import make_engine, utcnow
from kgys.runtime import make_runtime
from tests import factories
from tests.conftest import ENGINES, _pg_create, _pg_drop, settings_for


@pytest.fixture(params=ENGINES)
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    """A fresh database at revision 0004."""
    name = f"kgys_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite" else _pg_create(name)
    engine = make_engine(settings_for(tmp_path, url), url=url)
    try:
        migrate.upgrade(engine, "0004")
        yield engine, tmp_path
    finally:
        engine.dispose()
        if request.param != "sqlite":
            _pg_drop(name)


def _write_as_before_chaining(conn: Connection, signer: Signer, entries: int, every: int) -> list[int]:
    """Entries and four-field checkpoints, as kgys wrote them before checkpoints were chained."""
    prev, signed = GENESIS_HASH, []
    for seq in range(1, entries + 1):
        ts = utcnow()
        values = {"seq": seq, "ts": ts, "actor_id": None, "actor": "cli:root", "action": "test.write",
                  "object_type": "thing", "object_id": str(seq), "site_id": None, "reason": None,
                  "legal_basis": None, "before_digest": None, "after_digest": None, "details": "{}"}
        h = chain_hash(prev, entry_payload(**{k: v for k, v in values.items() if k != "action"},
                                                        action="test.write"))
        conn.execute(insert(AuditEntry), {**values, "prev_hash": prev, "entry_hash": h})
        prev = h
        if seq % every == 0:
            created = utcnow()
            sig = signer.sign(checkpoint_message(seq, h, created.isoformat(timespec="microseconds"), signer.key_id))
            conn.execute(text("INSERT INTO audit_checkpoints (seq, entry_hash, created_at, key_id, signature) "
                              "VALUES (:s, :h, :c, :k, :g)"),
                         {"s": seq, "h": h, "c": created, "k": signer.key_id, "g": sig})
            signed.append(seq)
    return signed


def _lift_guards(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_checkpoints_no_delete"))


def test_old_checkpoints_stay_valid_and_the_next_one_seals_them(old_db: tuple[Engine, Path]) -> None:
    engine, data_dir = old_db
    settings = settings_for(data_dir, engine.url.render_as_string(hide_password=False))
    signer = load_or_create_signer(settings.audit_key_path)
    with engine.begin() as conn:
        assert _write_as_before_chaining(conn, signer, entries=25, every=10) == [10, 20]
    migrate.upgrade(engine)

    with engine.connect() as conn:
        assert [cp.prev_checkpoint_hash for cp in read_checkpoints(conn)] == [None, None]
        conn.rollback()
        with pytest.raises(Exception, match="append-only"), conn.begin():  # the guards survived the upgrade
            conn.execute(text("UPDATE audit_checkpoints SET key_id = 'x'"))
        assert verify_database(conn, signer.public).ok

    rt = make_runtime(settings, engine=engine)
    with rt.sessions.begin() as s:
        audit_service.append(s, actor=factories.admin(), action="test.write", object_type="thing", object_id="new")
        assert audit_service.checkpoint(s, rt.signer) == 26
    with engine.connect() as conn:
        old, new = read_checkpoints(conn)[:2], read_checkpoints(conn)[2]
        assert new.prev_checkpoint_hash == chain_head(old)
        report = verify_database(conn, signer.public)
        assert report.ok, report.problems
        assert (report.checkpoints, report.last_checkpoint_seq) == (3, 26)
        conn.rollback()

        with conn.begin() as trans:  # removing an old, unchained checkpoint breaks the seal
            _lift_guards(conn)
            conn.execute(text("DELETE FROM audit_checkpoints WHERE seq = 10"))
            problems = verify_database(conn, signer.public, stop_at_first=False).problems
            assert [(p.seq, p.kind) for p in problems] == [(26, "checkpoint")]
            trans.rollback()
