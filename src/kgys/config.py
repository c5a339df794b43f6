"""The one typed settings object.

Values come, in rising priority, from the defaults below, an optional TOML file (``KGYS_CONFIG`` or
``--config``), and ``KGYS_*`` environment variables; nested sections use ``__`` (for example
``KGYS_DATABASE__URL``). Insecure defaults are refused unless ``mode`` is ``demo`` or ``dev``.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

INSECURE_SECRET = "insecure-demo-secret-change-me"
_config_file: ContextVar[str | None] = ContextVar("kgys_config_file", default=None)


class DatabaseSettings(BaseModel):
    """Where the relational data lives."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; empty means SQLite (WAL) at DATA_DIR/kgys.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    echo: bool = Field(default=False, description="Log every SQL statement.")
    pool_size: int = Field(default=10, ge=1, description="Connections kept open (PostgreSQL).")


class SecuritySettings(BaseModel):
    """Sessions, passwords, lockout and key material."""

    secret_key: str = Field(default=INSECURE_SECRET, description="Keys the sign-in form's CSRF token; >= 32 chars.")
    session_hours: float = Field(default=12.0, gt=0, description="Browser session lifetime.")
    api_token_days: float = Field(default=30.0, gt=0, description="Bearer token lifetime.")
    cookie_secure: bool = Field(default=True, description="Send cookies only over HTTPS (localhost excepted).")
    lockout_threshold: int = Field(default=5, ge=1, description="Failed logins before the account locks.")
    lockout_minutes: float = Field(default=15.0, gt=0, description="How long a locked account stays locked.")
    mfa_roles: list[str] = Field(
        default=["admin", "supervisor", "investigator"],
        description="Roles whose members must pass a TOTP second factor.",
    )
    credentials_key_path: Path | None = Field(
        default=None, description="Fernet key for stored device credentials; default DATA_DIR/keys/credentials.key"
    )


class AuditSettings(BaseModel):
    """The hash-chained audit log and its signed checkpoints."""

    signing_key_path: Path | None = Field(
        default=None, description="Ed25519 private key (PEM), kept outside the database; "
        "default DATA_DIR/keys/audit-ed25519.pem"
    )
    checkpoint_every_entries: int = Field(default=1000, ge=1, description="Sign a checkpoint every N entries.")
    checkpoint_every_minutes: float = Field(default=10.0, gt=0, description="…or every N minutes.")


class WebSettings(BaseModel):
    """The HTTP service."""

    host: str = Field(default="127.0.0.1", description="Address `kgys serve` listens on.")
    port: int = Field(default=8155, ge=1, le=65535, description="Port `kgys serve` listens on.")
    tile_url: str = Field(
        default="", description="Map tile URL template, e.g. https://tiles.example/{z}/{x}/{y}.png; "
        "empty shows sites on a plain background."
    )
    default_locale: Literal["tr", "en", "ru"] = Field(default="tr", description="UI language by default.")
    negotiate_locale: bool = Field(
        default=False, description="Use the browser's Accept-Language when the user has not chosen a language."
    )
    max_body_mb: float = Field(
        default=1.0, gt=0, description="Largest request body accepted (JSON API, forms), in MB; a larger one is "
        "refused with 413 as soon as it passes the limit, chunked transfer included.")
    max_upload_mb: float = Field(
        default=20.0, gt=0, description="Largest import file accepted, in MB (the upload routes' body limit).")


class RolloutSettings(BaseModel):
    """Target days a site may stay in each roll-out step before it counts as overdue."""

    max_days: dict[str, int] = Field(
        default={"none": 30, "planned": 60, "tendered": 60, "contracted": 90, "installed": 30, "integrated": 30},
        description="Status → days allowed before the next step is overdue.",
    )


class RecordingSettings(BaseModel):
    """The recorder worker: ffmpeg, the spool, segments, restarts and the simulated cameras."""

    ffmpeg_path: str = Field(default="ffmpeg", description="ffmpeg binary (name on PATH or full path).")
    spool_dir: Path | None = Field(default=None, description="Where ffmpeg writes segments; default DATA_DIR/spool.")
    segment_seconds: float = Field(default=10.0, gt=0, description="Target length of one recorded segment.")
    rtsp_timeout_seconds: float = Field(default=5.0, gt=0, description="ffmpeg gives up on a silent camera after this.")
    stall_seconds: float = Field(default=5.0, gt=0, description="No data written for this long: restart ffmpeg.")
    backoff_initial_seconds: float = Field(default=1.0, gt=0, description="First delay before restarting ffmpeg.")
    backoff_max_seconds: float = Field(default=10.0, gt=0, description="Longest delay between restarts.")
    poll_seconds: float = Field(default=0.25, gt=0, description="How often the spool and the processes are checked.")
    starts_per_second: float = Field(
        default=20.0, gt=0, description="At most this many ffmpegs are started a second (start-up, reconnects).")
    refresh_seconds: float = Field(default=10.0, gt=0, description="How often the camera list is re-read.")
    fsync: bool = Field(default=True, description="Flush each stored segment to disk before indexing it.")
    sim_port: int = Field(default=8554, ge=1, le=65535, description="Port of `kgys sim cameras`.")
    sim_clip_seconds: int = Field(default=10, ge=2, description="Length of the generated looping test clip.")
    role: Literal["central", "edge"] = Field(
        default="central", description="central keeps footage 10 days by default, a school edge node 30 days.")
    retention_interval_seconds: float = Field(
        default=10.0, gt=0, le=50, description="How often `kgys worker jobs` deletes expired footage.")


class Settings(BaseSettings):
    """Everything kgys can be told."""

    model_config = SettingsConfigDict(env_prefix="KGYS_", env_nested_delimiter="__", extra="forbid")

    mode: Literal["production", "demo", "dev"] = Field(
        default="production", description="demo/dev allow insecure defaults; production refuses them."
    )
    data_dir: Path = Field(default=Path("./kgys-data"), description="Database, keys and recordings live here.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then environment, then the TOML file named by KGYS_CONFIG."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _config_file.get() or os.environ.get("KGYS_CONFIG")
        if toml_path and not Path(toml_path).is_file():
            raise ValueError(f"settings file {toml_path} (--config / KGYS_CONFIG) does not exist")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    @model_validator(mode="after")
    def _refuse_insecure(self) -> Settings:
        if self.mode == "production":
            key = self.security.secret_key
            if key == INSECURE_SECRET or len(key) < 32:
                raise ValueError(
                    "security.secret_key (KGYS_SECURITY__SECRET_KEY) must be set to a random value of at "
                    "least 32 characters outside demo/dev mode"
                )
        return self

    @property
    def database_url(self) -> str:
        """The effective database URL."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'kgys.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        """True when the embedded SQLite database is used."""
        return self.database_url.startswith("sqlite")

    @property
    def audit_key_path(self) -> Path:
        """Where the audit signing key lives."""
        return self.audit.signing_key_path or self.data_dir / "keys" / "audit-ed25519.pem"

    @property
    def credentials_key_path(self) -> Path:
        """Where the device-credential encryption key lives."""
        return self.security.credentials_key_path or self.data_dir / "keys" / "credentials.key"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment, an optional TOML file and explicit overrides."""
    token = _config_file.set(str(config_file) if config_file is not None else None)
    try:
        return Settings(**overrides)
    finally:
        _config_file.reset(token)
