"""Key files: created on a fresh installation, never silently replaced where data depends on them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kgys.audit import service as audit_service
from kgys.audit.mechanism import set_actor
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.schemas import CameraIn, CredentialsIn
from kgys.config import INSECURE_SECRET, Settings
from kgys.demo import demo_password, demo_totp_secret
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
        camera_flows.save_camera(session=s, actor=factories.admin(), box=rt.box, code=site.code, data=CameraIn(
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


def _demo(d: Path) -> Settings:
    return Settings(mode="demo", data_dir=d)


def test_demo_secret_key_is_random_per_folder_and_kept_across_starts(tmp_path: Path) -> None:
    first = make_runtime(_demo(tmp_path / "a"), upgrade=True)
    first.close()
    again = make_runtime(_demo(tmp_path / "a"), upgrade=True)
    again.close()
    other = make_runtime(_demo(tmp_path / "b"), upgrade=True)
    other.close()
    key = first.settings.security.secret_key
    assert key != INSECURE_SECRET and len(key) >= 32
    assert again.settings.security.secret_key == key  # a second start on the same folder reuses it
    assert other.settings.security.secret_key != key  # another folder has its own
    assert oct((tmp_path / "a" / "keys" / "secret.key").stat().st_mode & 0o777) == "0o600"
    # the demo logins derive from it: the same on a restart, different in another folder
    assert demo_password(key, "admin") == demo_password(again.settings.security.secret_key, "admin")
    assert demo_password(key, "admin") != demo_password(other.settings.security.secret_key, "admin")
    assert demo_totp_secret(key, "admin") != demo_totp_secret(other.settings.security.secret_key, "admin")


def test_a_given_secret_key_is_used_as_it_is(tmp_path: Path) -> None:
    rt = make_runtime(Settings(mode="demo", data_dir=tmp_path, security={"secret_key": "s" * 40}), upgrade=True)
    rt.close()
    assert rt.settings.security.secret_key == "s" * 40
    assert not (tmp_path / "keys" / "secret.key").exists()


def test_production_refuses_the_public_default_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secret_key"):
        Settings(mode="production", data_dir=tmp_path)


def test_data_folder_database_and_keys_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # an existing folder that others could read is made private
    rt = make_runtime(_demo(data), upgrade=True)
    with rt.sessions.begin() as s:  # the write-ahead log files exist once something is written
        audit_service.append(s, actor=factories.admin(), action="x", object_type="y", object_id=1)
    try:
        assert oct(data.stat().st_mode & 0o777) == "0o700"
        assert oct((data / "keys").stat().st_mode & 0o777) == "0o700"
        for path in [data / "kgys.db", *(data / "keys").iterdir(), *data.glob("kgys.db-*")]:
            assert oct(path.stat().st_mode & 0o777) == "0o600", path
        assert (data / "kgys.db-wal").exists()
    finally:
        rt.close()


def test_a_database_file_others_could_read_is_made_private(tmp_path: Path) -> None:
    make_runtime(_settings(tmp_path), upgrade=True).close()
    db = tmp_path / "kgys.db"
    db.chmod(0o644)
    make_runtime(_settings(tmp_path)).close()
    assert oct(db.stat().st_mode & 0o777) == "0o600"
