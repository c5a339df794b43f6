"""The one typed settings object.

Values come, in rising priority, from the defaults below, an optional TOML file (``KGYS_CONFIG`` or
``--config``), and ``KGYS_*`` environment variables; nested sections use ``__`` (for example
``KGYS_DATABASE__URL``). Insecure defaults are refused unless ``mode`` is ``demo`` or ``dev``.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kgys import localtime
from kgys.operations_settings import AlertsSettings as AlertsSettings
from kgys.operations_settings import DevicesSettings as DevicesSettings
from kgys.operations_settings import DispatchSettings as DispatchSettings
from kgys.operations_settings import RoadsSettings as RoadsSettings

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
    pool_size: int = Field(
        default=10, ge=1,
        description="Connections kept open; raised to the server's worker threads + 4 when lower.",
    )
    max_overflow: int = Field(default=10, ge=0, description="Connections opened beyond the pool under load.")
    pool_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a unit of work waits for a connection before it is busy (503)."
    )
    schema_wait_seconds: float = Field(
        default=30.0, ge=0,
        description="How long a worker or command waits at start for `kgys db upgrade` (or a starting server) "
        "to bring the schema to its revision before it refuses to run.",
    )
    busy_seconds: float = Field(
        default=10.0, gt=0,
        description="SQLite: seconds a writer waits for the write lock (in this process and across processes) "
        "before it is busy (503 for a request; workers retry).",
    )


class SecuritySettings(BaseModel):
    """Sessions, passwords, lockout and key material."""

    secret_key: str = Field(
        default=INSECURE_SECRET, description="Signs the sign-in form's CSRF token and the viewing tickets; >= 32 "
        "chars. Required in production; in demo/dev mode, when not set, each data directory gets a random one "
        "of its own (DATA_DIR/keys/secret.key).")
    session_hours: float = Field(default=12.0, gt=0, description="Browser session lifetime.")
    api_token_days: float = Field(default=30.0, gt=0, description="Bearer token lifetime.")
    cookie_secure: bool = Field(default=True, description="Send cookies only over HTTPS (localhost excepted).")
    lockout_threshold: int = Field(
        default=5, ge=1, description="Failed sign-ins (wrong passwords and wrong second-factor codes together) "
        "before the account locks.")
    lockout_minutes: float = Field(default=15.0, gt=0, description="How long a locked account stays locked.")
    password_min_length: int = Field(default=10, ge=8, le=128, description="Shortest password accepted.")
    password_min_score: int = Field(
        default=3, ge=0, le=4, description="Lowest zxcvbn strength score a new password must reach: 0 too easy to "
        "guess … 4 very hard to guess; 3 refuses common passwords, words with digits appended and keyboard walks.")
    mfa_roles: list[str] = Field(
        default=["admin", "supervisor", "investigator"],
        description="Roles whose members must pass a TOTP second factor.",
    )
    credentials_key_path: Path | None = Field(
        default=None, description="Fernet key for stored device credentials; default DATA_DIR/keys/credentials.key"
    )


class DirectoryWitnessSettings(BaseModel):
    """A witness that is a folder outside the database (another disk, a mounted share of an oversight body)."""

    type: Literal["directory"] = Field(description="A folder: one JSON line per checkpoint is appended to "
                                       "kgys-checkpoints.jsonl in it.")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="Name of the witness in logs and in the delivery queue; keep it stable.")
    path: Path = Field(description="The folder; created when missing.")
    fsync: bool = Field(default=True, description="Flush each appended line to disk before counting it delivered.")


class HttpWitnessSettings(BaseModel):
    """A witness that is a web service of another body: each signed checkpoint is POSTed to it as JSON."""

    type: Literal["http"] = Field(description="An HTTP(S) endpoint receiving one POST per checkpoint.")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="Name of the witness in logs and in the delivery queue; keep it stable.")
    url: str = Field(pattern=r"^https?://", description="Where the checkpoint record is POSTed "
                     "(Content-Type: application/json); any 2xx answer counts as received.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers, e.g. an "
                                    "Authorization token the witness issued.")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Give up on one attempt after this.")


WitnessSettings = Annotated[DirectoryWitnessSettings | HttpWitnessSettings, Field(discriminator="type")]


class AuditSettings(BaseModel):
    """The hash-chained audit log, its signed checkpoints and the witnesses that keep copies of them."""

    signing_key_path: Path | None = Field(
        default=None, description="Ed25519 private key (PEM), kept outside the database; "
        "default DATA_DIR/keys/audit-ed25519.pem"
    )
    checkpoint_every_entries: int = Field(default=1000, ge=1, description="Sign a checkpoint every N entries.")
    checkpoint_every_minutes: float = Field(default=10.0, gt=0,
                                            description="…or every N minutes (signed by `kgys worker jobs`).")
    unsigned_tail_margin_entries: int = Field(
        default=100, ge=0, description="`kgys audit verify` fails when more than checkpoint_every_entries plus "
        "this many entries follow the last signed checkpoint.")
    unsigned_tail_margin_seconds: float = Field(
        default=300.0, ge=0, description="`kgys audit verify` fails when the first entry after the last signed "
        "checkpoint is older than checkpoint_every_minutes plus this many seconds.")
    witnesses: list[WitnessSettings] = Field(
        default_factory=list, description="Where each signed checkpoint is handed, outside the database "
        "(type \"directory\" or \"http\"); delivered after the signing transaction commits, retried until received.")
    witness_poll_seconds: float = Field(default=5.0, gt=0, description="How often checkpoints waiting for a "
                                        "witness are sent (by `kgys worker jobs`).")
    witness_retry_initial_seconds: float = Field(default=5.0, gt=0, description="Wait after a failed hand-over "
                                                 "before the first retry; doubled after each further failure.")
    witness_retry_max_seconds: float = Field(default=600.0, gt=0, description="Longest wait between retries.")

    @model_validator(mode="after")
    def _unique_witness_names(self) -> AuditSettings:
        names = [w.name for w in self.witnesses]
        if len(names) != len(set(names)):
            raise ValueError("audit.witnesses: every witness needs a name of its own")
        return self


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
    max_floor_plan_mb: float = Field(
        default=10.0, gt=0, description="Largest floor plan image accepted, in MB (the floor plan uploads' limit).")
    max_decision_mb: float = Field(
        default=10.0, gt=0, le=100, description="Largest scanned judicial decision accepted (PDF, JPEG or PNG), in "
        "MB (the decision uploads' limit).")
    threads: int = Field(
        default=3, ge=1, le=512,
        description="Requests handled at once, each with a worker thread and a database connection of its own "
        "(the pool is sized to match); more wait for a place. Python runs one thread of a process at a time, so "
        "threads beyond a few per process cost more in contention for its interpreter lock than they gain (see "
        "bench/load.py); use more processes (workers) for more cores.",
    )
    workers: int = Field(
        default=1, ge=1, le=64,
        description="Processes `kgys serve` runs on the one port (Linux, SO_REUSEPORT), each with `threads` threads "
        "and a database pool of its own; one per core uses the cores Python's interpreter lock keeps one process "
        "from using.",
    )
    queue_seconds: float = Field(
        default=10.0, gt=0,
        description="How long a request waits for a place before it is answered 503 with Retry-After.",
    )
    time_zone: str = Field(
        default="Europe/Istanbul", min_length=1,
        description="The time zone (IANA name) pages show times in and read typed times in; stored times are UTC.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        localtime.zone(value)
        return value


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


class ExportsSettings(BaseModel):
    """Footage exports: several cameras over one range, built by `kgys worker jobs` into a zip to download."""

    max_minutes: int = Field(default=60, ge=1, le=24 * 60, description="Longest range one export may cover.")
    keep_hours: float = Field(default=24.0, gt=0, description="A finished export's zip is deleted this long after "
                              "it was built.")
    poll_seconds: float = Field(default=2.0, gt=0, le=60, description="How often the jobs worker looks for a "
                                "queued export.")
    stale_seconds: float = Field(default=120.0, ge=10, description="A running export whose worker has not reported "
                                 "for this long (killed, say) is queued again.")
    progress_seconds: float = Field(default=1.0, gt=0, description="Progress is written at most this often.")


class EvidenceSettings(BaseModel):
    """Footage requests under judicial authority: how long footage is held while a decision is awaited."""

    decision_wait_days: float = Field(default=15.0, gt=0, le=365, description="A footage request's provisional "
                                      "holds lapse, and the request expires, this many days after it was made "
                                      "if no decision is recorded.")
    expiry_check_seconds: float = Field(default=60.0, gt=0, description="How often the jobs worker marks the "
                                        "requests whose wait for a decision is over as expired.")
    download_hours: float = Field(default=48.0, gt=0, le=24 * 30, description="A release's package, and each "
                                  "one-time download link to it, expires this long after it was made; the jobs "
                                  "worker then deletes the package.")
    release_poll_seconds: float = Field(default=2.0, gt=0, le=60, description="How often the jobs worker looks "
                                        "for a release to build.")
    release_stale_seconds: float = Field(default=120.0, ge=10, description="A release being built whose worker "
                                         "has not reported for this long (killed, say) is queued again.")
    release_progress_seconds: float = Field(default=1.0, gt=0, description="A release's progress is written at "
                                            "most this often.")


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
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    devices: DevicesSettings = Field(default_factory=DevicesSettings)
    roads: RoadsSettings = Field(default_factory=RoadsSettings)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    exports: ExportsSettings = Field(default_factory=ExportsSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)

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
