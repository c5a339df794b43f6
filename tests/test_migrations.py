"""The migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from kgys import migrate
from kgys.db import make_engine
from kgys.models import Base
from kgys.secretbox import SecretBox, load_or_create_box
from tests.conftest import ENGINES, _pg_create, _pg_drop, settings_for


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": migrate.include_object})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    assert migrate.current(engine) == migrate.head(engine)


PARENT = "0006"  # the revision 0005 follows


@pytest.mark.parametrize("kind", ENGINES)
def test_0005_seals_the_totp_secrets_stored_in_clear(kind: str, tmp_path: Path) -> None:
    name = f"kgys_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _pg_create(name) if kind == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(settings_for(tmp_path, url), url=url)
    try:
        migrate.upgrade(engine, PARENT)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (username, full_name, email, role, password_hash, totp_secret, "
                              "totp_confirmed, is_active, failed_logins, created_at) VALUES ('eski', '', '', "
                              "'admin', 'x', 'JBSWY3DPEHPK3PXP', true, true, 0, CURRENT_TIMESTAMP)"))
        with pytest.raises(RuntimeError, match="credentials key"):  # sealing without the key is refused
            migrate.upgrade(engine)
        box = load_or_create_box(tmp_path / "keys" / "credentials.key")
        migrate.upgrade(engine, box=box)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT totp_secret, credentials_version FROM users")).one()
        assert "JBSWY3DPEHPK3PXP" not in stored[0]
        assert box.open_text(stored[0]) == "JBSWY3DPEHPK3PXP" and stored[1] == 0
        migrate.upgrade(engine, box=box)  # at head: nothing sealed twice
        migrate_down(engine, box)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT totp_secret FROM users")).scalar() == "JBSWY3DPEHPK3PXP"
    finally:
        engine.dispose()
        if kind == "postgresql":
            _pg_drop(name)


def migrate_down(engine: Engine, box: SecretBox) -> None:
    """Downgrade to the revision before 0005 with the key (the sealed secrets are opened again)."""
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["secret_box"] = box
        command.downgrade(cfg, PARENT)


@pytest.mark.parametrize("kind", ENGINES)
def test_0007_moves_the_recording_alerts_into_the_queue(kind: str, tmp_path: Path) -> None:
    name = f"kgys_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _pg_create(name) if kind == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(settings_for(tmp_path, url), url=url)
    box = load_or_create_box(tmp_path / "keys" / "credentials.key")
    try:
        migrate.upgrade(engine, "0005", box=box)
        with engine.begin() as conn:
            for kind_, sev, msg, resolved in (("recorder_down", "critical", "durdu", None),
                                              ("recorder_down", "critical", "eski", "2026-01-02 00:00:00"),
                                              ("storage_forecast", "warning", "yakında dolacak", None)):
                conn.execute(text("INSERT INTO recording_alerts (kind, severity, message, created_at, resolved_at) "
                                  "VALUES (:k, :s, :m, '2026-01-01 00:00:00', :r)"),
                             {"k": kind_, "s": sev, "m": msg, "r": resolved})
        migrate.upgrade(engine, box=box)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT source, kind, priority, state, details, open_key IS NOT NULL, "
                                     "closed_at IS NOT NULL FROM alerts ORDER BY id")).all()
            steps = conn.execute(text("SELECT alert_id, move FROM alert_changes ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [
            ("recorder", "recorder_down", 3, "new", "durdu", True, False),
            ("recorder", "recorder_down", 3, "resolved", "eski", False, True),
            ("recorder", "storage_forecast", 4, "new", "yakında dolacak", True, False)]
        assert [m for _, m in steps] == ["raise", "raise", "clear", "raise"]
        cfg = migrate.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            cfg.attributes["secret_box"] = box
            command.downgrade(cfg, "0005")
        with engine.connect() as conn:
            back = conn.execute(text("SELECT kind, severity, message, resolved_at IS NOT NULL FROM recording_alerts "
                                     "ORDER BY id")).all()
        assert [tuple(r) for r in back] == [("recorder_down", "critical", "durdu", False),
                                            ("recorder_down", "critical", "eski", True),
                                            ("storage_forecast", "warning", "yakında dolacak", False)]
    finally:
        engine.dispose()
        if kind == "postgresql":
            _pg_drop(name)
