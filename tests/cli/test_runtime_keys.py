"""Key files: created on a fresh installation, never silently replaced where data depends on them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kgys.audit import service as audit_service
from kgys.audit.mechanism import set_actor
from kgys.cameras import service as camera_service
from kgys.cameras.schemas import CameraIn, CredentialsIn
from kgys.config import Settings
from kgys.errors import ConfigurationError
from kgys.runtime import make_runtime
from tests import factories


def _settings(d: Path) -> Settings:
    return Settings(mode="dev", data_dir=d)


def test_lost_audit_key_is_refused(tmp_path: Path) -> None:
    rt = make_runtime(_settings(tmp_path), upgrade=True)
    with rt.sessions.begin() as s:
        audit_service.append(s, actor=factories.admin(), action="x", object_type="y", object_id=1)
        audit_service.checkpoint(s, rt.signer)
    rt.close()
    rt.settings.audit_key_path.unlink()
    with pytest.raises(ConfigurationError, match="restore the keys directory"):
        make_runtime(_settings(tmp_path))


def test_lost_credentials_key_is_refused(tmp_path: Path) -> None:
    rt = make_runtime(_settings(tmp_path), upgrade=True)
    with rt.sessions.begin() as s:
        factories.tree(s)
        site = factories.site(s)
        set_actor(s, factories.admin())
        camera_service.save_camera(session=s, actor=factories.admin(), box=rt.box, code=site.code, data=CameraIn(
            name="Giriş", megapixels=2, width=1920, height=1080, credentials=CredentialsIn(username="u", password="p")))
    rt.close()
    rt.settings.credentials_key_path.unlink()
    with pytest.raises(ConfigurationError, match="credentials key"):
        make_runtime(_settings(tmp_path))


def test_fresh_installation_creates_keys(tmp_path: Path) -> None:
    rt = make_runtime(_settings(tmp_path), upgrade=True)
    assert rt.settings.audit_key_path.exists() and rt.settings.credentials_key_path.exists()
    assert oct(rt.settings.audit_key_path.stat().st_mode & 0o777) == "0o600"
    rt.close()
    shutil.rmtree(tmp_path / "keys")
    make_runtime(_settings(tmp_path)).close()  # no data depends on them yet
