"""Settings of the operations centre: the alert queue and its events, school devices over MQTT, dispatch and the
road graph. Part of the one settings object (:class:`kgys.config.Settings`), kept here to keep each module short."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator


class AlertsSettings(BaseModel):
    """The alert queue and the events that carry it to the consoles."""

    event_poll_seconds: float = Field(
        default=0.1, gt=0, le=5,
        description="How often a server looks for new events when nothing woke it (SQLite; on PostgreSQL a "
        "notification wakes it at once and this is only a safety net).",
    )
    events_keep_days: int = Field(
        default=7, ge=1,
        description="Events older than this are deleted by the jobs worker; a console away longer reloads the queue.",
    )
    nats_url: str | None = Field(
        default=None,
        description="NATS server with JetStream (nats://host:4222) that carries events between processes at scale; "
        "empty: the database carries them. With it, run `kgys worker relay`.",
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0, gt=0,
        description="A console's stream sends a heartbeat this often, checks again that its user is still signed "
        "in and allowed, and notes that the console is connected (three heartbeats missed: it is gone).",
    )

class DevicesSettings(BaseModel):
    """School panic buttons and door/turnstile controllers over MQTT: the broker, its files, the intake's rules."""

    broker_host: str = Field(default="127.0.0.1", description="MQTT broker (Mosquitto) host.")
    broker_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port.")
    username: str = Field(default="kgys-intake", min_length=1, max_length=64,
                          description="The intake's broker login; may read every device's uplink.")
    password: str = Field(default="", max_length=200,
                          description="The intake's broker password (written to the password file with it).")
    client_id: str = Field(
        default="kgys-intake", min_length=1, max_length=64,
        description="The intake's fixed MQTT client id: the broker keeps its session (and what arrives while it "
        "is down) under this id. Run one intake per id.")
    keepalive_seconds: int = Field(default=30, ge=5, le=600, description="MQTT keepalive of the intake.")
    password_file: Path | None = Field(
        default=None, description="Mosquitto's password_file that provisioning writes (with mosquitto_passwd); "
        "default DATA_DIR/mosquitto/passwd.")
    acl_file: Path | None = Field(
        default=None, description="Mosquitto's acl_file that provisioning rewrites; default DATA_DIR/mosquitto/acl.")
    broker_pid_file: Path | None = Field(
        default=None, description="If set, the broker named by this PID file is sent SIGHUP after its files "
        "change, so that it reads them again; otherwise reload it yourself.")
    mosquitto_passwd: str = Field(default="mosquitto_passwd", description="mosquitto_passwd binary (name or path).")
    cancel_window_seconds: int = Field(
        default=120, ge=5, le=3600, description="A press may be cancelled at the device with its PIN this long.")
    max_wrong_pins: int = Field(
        default=3, ge=1, le=20, description="After this many wrong PINs further cancels of the alert are ignored.")
    press_window_seconds: int = Field(
        default=600, ge=0, description="Presses of one device this close together merge into one alert.")
    access_window_seconds: int = Field(
        default=600, ge=0, description="The same door's events this close together merge into one alert.")
    offline_factor: float = Field(
        default=3.0, ge=1.5, le=100,
        description="A device silent for this many of its heartbeat intervals gets a device_offline alert.")
    offline_check_seconds: float = Field(default=30.0, gt=0, description="How often the jobs worker looks.")
    max_clock_skew_seconds: int = Field(
        default=86400, ge=60, description="A message whose device clock is further off than this is refused.")

    def password_path(self, data_dir: Path) -> Path:
        """The broker's password file."""
        return self.password_file or data_dir / "mosquitto" / "passwd"

    def acl_path(self, data_dir: Path) -> Path:
        """The broker's ACL file."""
        return self.acl_file or data_dir / "mosquitto" / "acl"

class DispatchSettings(BaseModel):
    """Units and the recommendation of who goes: the straight-line model, stale positions, escalation."""

    speeds_kmh: dict[str, Annotated[float, Field(gt=0, le=300)]] = Field(
        default={"patrol_car": 40.0, "motorcycle": 45.0, "foot_patrol": 5.0, "gendarmerie_team": 35.0,
                 "school_liaison": 30.0, "domestic_violence_team": 35.0},
        description="Average speed in the city per unit kind (km/h, above 0, at most 300); a kind with none is "
        "not ranked.")
    detour_factor: float = Field(default=1.4, ge=1.0, le=3.0,
                                 description="Road distance ÷ straight-line distance assumed by the estimate.")
    stale_after_seconds: float = Field(default=300.0, gt=0, description="A position older than this is stale: "
                                       "shown, not ranked.")
    ack_within_seconds: float = Field(default=60.0, gt=0, description="An assignment not acknowledged within "
                                      "this raises a P2 alert (once).")
    escalation_check_seconds: float = Field(default=10.0, gt=0, description="How often the jobs worker looks.")
    position_skew_seconds: float = Field(default=30.0, ge=0, description="A position report may be this far in "
                                         "the future (the device's clock); further is refused.")
    position_max_age_seconds: float = Field(default=3600.0, gt=0, description="A position report older than "
                                            "this is refused.")
    target_dispatch_seconds: float = Field(
        default=600.0, gt=0, description="An incident should have a unit assigned within this long of its report "
        "(the forwarding rule); the response report lists those that missed it.")
    shifts: str = Field(
        default="08:00,16:00,00:00", pattern=r"^\s*\d{2}:\d{2}(\s*,\s*\d{2}:\d{2})*\s*$",
        description="Local times (HH:MM, comma-separated) at which a shift begins; each shift lasts to the next "
        "boundary, the last one across midnight to the first. An incident belongs to the shift of its report.")
    time_zone: str = Field(default="Europe/Istanbul", min_length=1,
                           description="The time zone (IANA name) of the shifts and of the reports' local times.")

    @field_validator("shifts")
    @classmethod
    def _shift_times(cls, value: str) -> str:
        starts = [part.strip() for part in value.split(",")]
        try:
            parsed = [time.fromisoformat(part) for part in starts]
        except ValueError:
            raise ValueError("each shift boundary must be a time of day HH:MM (00:00 to 23:59)") from None
        if len(set(parsed)) != len(parsed):
            raise ValueError("shift boundaries must differ")
        return ",".join(starts)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Istanbul)") from None
        return value

    def shift_starts(self) -> list[time]:
        """The shifts' local starting times, earliest first."""
        return sorted(time.fromisoformat(part) for part in self.shifts.split(","))

class RoadsSettings(BaseModel):
    """The road graph for travel times (PostgreSQL with PostGIS and pgRouting; `kgys roads import FILE`)."""

    max_import_mb: int = Field(default=4096, ge=1, description="Largest OpenStreetMap file `kgys roads import` reads.")
    access_kmh: float = Field(
        default=15.0, gt=0, le=60, description="Speed of the step from a place to its nearest road (and from the "
        "road to the place), in a straight line.")
    max_snap_m: float = Field(
        default=1500.0, gt=0, description="A place farther than this from every road has no road time (it lies "
        "outside the imported area): straight-line estimates are used for it.")
    margin_m: float = Field(
        default=5000.0, ge=0, description="Routing reads the roads in the box around the places widened by this "
        "much (and by half the box's size), so that detours to a distant bridge are still found.")
    drive_kinds: list[str] = Field(
        default=["patrol_car", "motorcycle", "gendarmerie_team", "school_liaison", "domestic_violence_team"],
        description="Unit kinds that drive: ranked by road time where a road graph is loaded (the others, such as "
        "foot patrols, by straight line).")
    candidates: int = Field(
        default=50, ge=1, le=1000, description="Of the units that drive, the ones quickest by straight line that "
        "are routed by road for a recommendation; the rest keep their straight-line estimate.")
