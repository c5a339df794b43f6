"""Settings: defaults, environment, TOML, and refusal of insecure defaults outside demo/dev."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from kgys.config import Settings, load_settings


def test_production_refuses_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KGYS_SECURITY__SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="secret_key"):
        Settings(mode="production")


def test_demo_accepts_defaults() -> None:
    s = Settings(mode="demo", data_dir=Path("/tmp/x"))
    assert s.database_url.startswith("sqlite:///")
    assert s.is_sqlite


def test_environment_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "kgys.toml"
    cfg.write_text('mode = "production"\n[security]\nsecret_key = "' + "k" * 40 + '"\n[web]\nport = 9000\n')
    monkeypatch.setenv("KGYS_WEB__PORT", "9100")
    monkeypatch.setenv("KGYS_DATABASE__URL", "postgresql+psycopg://u@h/db")
    s = load_settings(cfg)
    assert s.web.port == 9100  # environment wins over the file
    assert s.security.secret_key == "k" * 40
    assert not s.is_sqlite


def test_unknown_setting_is_an_error() -> None:
    with pytest.raises(ValidationError, match="colour"):
        Settings(mode="dev", colour="blue")  # type: ignore[call-arg]
