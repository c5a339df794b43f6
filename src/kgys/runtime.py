"""The running system's shared parts, built from settings: engine, sessions and key material."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from kgys import migrate
from kgys.audit import mechanism
from kgys.audit.models import AuditCheckpoint
from kgys.audit.service import CHECKPOINT_EVERY_KEY, SIGNER_KEY, WITNESSES_KEY
from kgys.audit.signing import Signer, load_or_create_signer
from kgys.cameras.models import Camera, Recorder
from kgys.cameras.secrets import CredentialBox, load_or_create_box
from kgys.config import Settings
from kgys.db import make_engine, make_session_factory
from kgys.errors import ConfigurationError

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a process needs to serve requests or run jobs."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    signer: Signer
    box: CredentialBox

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def _refuse_lost_keys(engine: Engine, settings: Settings) -> None:
    """Refuse to start with a new key where data made with the old one exists (a restore without keys/)."""
    audit_missing = not settings.audit_key_path.exists()
    creds_missing = not settings.credentials_key_path.exists()
    if not (audit_missing or creds_missing):
        return
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        if audit_missing and "audit_checkpoints" in tables and conn.execute(
            select(AuditCheckpoint.id).limit(1)
        ).first():
            raise ConfigurationError(
                f"the audit signing key {settings.audit_key_path} is missing but the database holds checkpoints "
                "signed with it; restore the keys directory from backup (a new key would make them unverifiable)"
            )
        if creds_missing and "cameras" in tables and (
            conn.execute(select(Camera.id).where(Camera.credentials.is_not(None)).limit(1)).first()
            or conn.execute(select(Recorder.id).where(Recorder.credentials.is_not(None)).limit(1)).first()
        ):
            raise ConfigurationError(
                f"the credentials key {settings.credentials_key_path} is missing but the database holds device "
                "credentials encrypted with it; restore the keys directory from backup"
            )


def make_runtime(settings: Settings, *, upgrade: bool = False, engine: Engine | None = None,
                 create_keys: bool = True) -> Runtime:
    """Build the runtime; with ``upgrade`` bring the schema to the newest revision first (under the migration
    lock), otherwise wait a bounded time for it to get there."""
    engine = engine or make_engine(settings)
    if upgrade:
        migrate.upgrade(engine)
    else:
        migrate.wait_for_schema(engine, timeout=settings.database.schema_wait_seconds)
    mechanism.install(Session)
    _refuse_lost_keys(engine, settings)
    signer = load_or_create_signer(settings.audit_key_path, create=create_keys)
    box = load_or_create_box(settings.credentials_key_path, create=create_keys)
    sessions = make_session_factory(
        engine, info={SIGNER_KEY: signer, CHECKPOINT_EVERY_KEY: settings.audit.checkpoint_every_entries,
                      WITNESSES_KEY: tuple(w.name for w in settings.audit.witnesses)},
    )
    return Runtime(settings=settings, engine=engine, sessions=sessions, signer=signer, box=box)
