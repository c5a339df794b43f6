"""The running system's shared parts, built from settings: engine, sessions and key material.

Key material lives in DATA_DIR/keys (folder 0700, files 0600). In demo and dev mode an installation that
was given no secret key gets a random one of its own, made on the first start and kept in
``keys/secret.key``: no two demo folders share the key their viewing tickets and forms are signed with.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from kgys import migrate
from kgys.accounts.models import User
from kgys.audit import mechanism
from kgys.audit.models import AuditCheckpoint
from kgys.audit.service import CHECKPOINT_EVERY_KEY, SIGNER_KEY, WITNESSES_KEY
from kgys.audit.signing import Signer, load_or_create_signer
from kgys.cameras.models import Camera, Recorder
from kgys.config import INSECURE_SECRET, Settings
from kgys.db import make_engine, make_session_factory
from kgys.errors import ConfigurationError
from kgys.events import bus
from kgys.secretbox import CredentialBox, load_or_create_box, private_dir

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
        if creds_missing and (("cameras" in tables and (
            conn.execute(select(Camera.id).where(Camera.credentials.is_not(None)).limit(1)).first()
            or conn.execute(select(Recorder.id).where(Recorder.credentials.is_not(None)).limit(1)).first()
        )) or ("users" in tables and conn.execute(
            select(User.id).where(User.totp_secret.is_not(None)).limit(1)).first())):
            raise ConfigurationError(
                f"the credentials key {settings.credentials_key_path} is missing but the database holds device "
                "credentials or TOTP secrets encrypted with it; restore the keys directory from backup"
            )


SECRET_KEY_FILE = "secret.key"


def _read_or_make_secret(path: Path) -> str:
    """The random secret in ``path``, written there (0600, folder 0700) on first use."""
    if not path.exists():
        private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the same installation made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigurationError(f"the secret key in {path} is shorter than 32 characters; delete it to get a new one")
    return key


def with_installation_secret(settings: Settings) -> Settings:
    """``settings`` with the installation's own random secret key in demo/dev mode when none was given.

    Production never gets here with the public default: the settings refuse it (see kgys.config).
    """
    if settings.mode == "production" or settings.security.secret_key != INSECURE_SECRET:
        return settings
    key = _read_or_make_secret(settings.data_dir / "keys" / SECRET_KEY_FILE)
    return settings.model_copy(update={"security": settings.security.model_copy(update={"secret_key": key})})


def make_runtime(settings: Settings, *, upgrade: bool = False, engine: Engine | None = None,
                 create_keys: bool = True) -> Runtime:
    """Build the runtime; with ``upgrade`` bring the schema to the newest revision first (under the migration
    lock), otherwise wait a bounded time for it to get there."""
    engine = engine or make_engine(settings)
    settings = with_installation_secret(settings)
    for path in (settings.audit_key_path, settings.credentials_key_path):
        if create_keys and not path.parent.exists():
            private_dir(path.parent)
    if upgrade:  # the key is checked (and made) first: the migrations seal secrets with it
        _refuse_lost_keys(engine, settings)
        box = load_or_create_box(settings.credentials_key_path, create=create_keys)
        migrate.upgrade(engine, box=box)
    else:
        migrate.wait_for_schema(engine, timeout=settings.database.schema_wait_seconds)
        _refuse_lost_keys(engine, settings)
        box = load_or_create_box(settings.credentials_key_path, create=create_keys)
    mechanism.install(Session)
    bus.install(Session)
    signer = load_or_create_signer(settings.audit_key_path, create=create_keys)
    sessions = make_session_factory(
        engine, info={SIGNER_KEY: signer, CHECKPOINT_EVERY_KEY: settings.audit.checkpoint_every_entries,
                      WITNESSES_KEY: tuple(w.name for w in settings.audit.witnesses)},
    )
    return Runtime(settings=settings, engine=engine, sessions=sessions, signer=signer, box=box)


def stop_on_signals(what: str, stop: threading.Event | None = None) -> threading.Event:
    """The event a worker loop runs until: set by SIGTERM or SIGINT (handlers installed only on the main
    thread, so a worker run in a test's thread is stopped through the event alone)."""
    event = stop or threading.Event()

    def _signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping the %s", signum, what)
        event.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _signal)
        signal.signal(signal.SIGINT, _signal)
    return event
