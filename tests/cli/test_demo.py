"""``kgys demo``: the demo data it seeds, its logins, its audit trail, and the real command end to end."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import func, select

import kgys
from kgys.accounts import security, signin
from kgys.accounts import service as account_service
from kgys.accounts.models import Jurisdiction, User
from kgys.accounts.permissions import Role
from kgys.audit.models import AuditEntry
from kgys.audit.verify import verify_database
from kgys.cameras.flows import systems as camera_flows
from kgys.config import Settings
from kgys.demo import DemoLogins, demo_password, demo_totp_secret, seed
from kgys.runtime import Runtime, make_runtime
from kgys.sites import service as site_service
from kgys.sites.models import Commission, RolloutEvent, Site
from kgys.sites.rollout import RolloutStatus, SiteType
from kgys.sites.schemas import SiteFilter
from tests.conftest import ENGINES, _pg_create, _pg_drop

KGYS = [sys.executable, "-m", "kgys"]  # the command line of this environment's kgys


def _runtime(tmp: Path, url: str | None) -> Runtime:
    settings = Settings(mode="demo", data_dir=tmp, database={"url": url}, security={"cookie_secure": False})
    return make_runtime(settings, upgrade=True)


@pytest.fixture(scope="module", params=ENGINES)
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Runtime, DemoLogins]]:
    """A database of its own, seeded once with 300 demo sites."""
    tmp = tmp_path_factory.mktemp("demo")
    pg_name = f"kgys_demo_{os.getpid()}_{uuid.uuid4().hex[:8]}" if request.param == "postgresql" else None
    rt = _runtime(tmp, _pg_create(pg_name) if pg_name else None)
    with rt.sessions.begin() as session:
        logins = seed(session, box=rt.box, settings=rt.settings, sites=300)
    yield rt, logins
    rt.close()
    if pg_name:
        _pg_drop(pg_name)


def test_demo_has_hundreds_of_sites_of_every_type_in_every_district(seeded: tuple[Runtime, DemoLogins]) -> None:
    rt, logins = seeded
    assert logins.created
    with rt.sessions() as session:
        assert logins.sites == session.scalar(select(func.count(Site.id))) == 300
        by_type = dict(session.execute(select(Site.type, func.count()).group_by(Site.type)).all())
        assert set(by_type) == {t.value for t in SiteType}
        districts = session.scalars(select(Jurisdiction.code).where(Jurisdiction.kind == "district")).all()
        assert len([d for d in districts if d.startswith("TR-99-")]) >= 5
        with_sites = set(session.scalars(select(Jurisdiction.code).join(Site, Site.jurisdiction_id == Jurisdiction.id)))
        assert with_sites == set(districts)
        statuses = set(session.scalars(select(Site.rollout_status).distinct()))
        assert statuses == {s.value for s in RolloutStatus}
        assert set(session.scalars(select(Site.compliance_status).distinct())) == {
            "compliant", "non_compliant", "no_system"}
        names = session.scalars(select(Site.name)).all()
        assert any(n.endswith("İlkokulu") for n in names) and any("Lisesi" in n for n in names)
        assert all(s.latitude and 39.0 < s.latitude < 41.5 for s in session.scalars(select(Site)))
        assert session.scalar(select(func.count(Commission.id))) == 10
        chairs = session.scalars(select(Commission.chair)).all()
        assert sum(c.startswith("Vali Yardımcısı") for c in chairs) == 2
        assert sum(c.startswith("Kaymakam") for c in chairs) == 8


def test_demo_roll_out_has_dated_history_and_overdue_sites(seeded: tuple[Runtime, DemoLogins]) -> None:
    rt, _ = seeded
    admin = account_service.actor_for
    with rt.sessions() as session:
        actor = admin(session.scalars(select(User).where(User.username == "admin")).one())
        _, overdue = site_service.list_sites(session=session, actor=actor, filters=SiteFilter(overdue=True),
                                             overdue_limits=rt.settings.rollout.max_days)
        assert 20 < overdue < 300
        verified = session.scalars(select(Site).where(Site.rollout_status == "verified").limit(1)).one()
        history = site_service.rollout_history(session=session, actor=actor, code=verified.code)
        assert [e.to_status for e in history] == ["verified", "integrated", "installed", "contracted", "tendered",
                                                  "planned"]
        assert all(a.effective_on >= b.effective_on for a, b in zip(history, history[1:], strict=False))
        assert history[-1].effective_on < date.today()
        assert session.scalar(select(func.count(RolloutEvent.id))) > 300


def test_demo_non_compliant_sites_fail_single_items_with_reasons(seeded: tuple[Runtime, DemoLogins]) -> None:
    rt, _ = seeded
    with rt.sessions() as session:
        actor = account_service.actor_for(session.scalars(select(User).where(User.username == "admin")).one())
        failing: set[str] = set()
        for site in session.scalars(select(Site).where(Site.compliance_status != "no_system")):
            _, result = camera_flows.compliance(session=session, actor=actor, code=site.code)
            assert result.status == site.compliance_status
            if site.rollout_status == "verified":
                assert result.status == "compliant", site.code
            failed = {c.code for c in result.failed}
            assert len(failed) <= 2, (site.code, failed)
            failing |= failed
            assert all(c.message for c in result.failed)
        assert {"camera.megapixels", "recorder.channels", "recorder.remote_viewing", "recorder.storage_days",
                "coverage.front"} <= failing


def test_every_role_has_a_login_that_works(seeded: tuple[Runtime, DemoLogins]) -> None:
    rt, logins = seeded
    assert {x.role for x in logins.logins} == {r.value for r in Role}
    with rt.sessions() as session:
        for login in logins.logins:
            user = signin.authenticate(session=session, settings=rt.settings.security,
                                                username=login.username, password=login.password)
            assert user.role == login.role
            needs = account_service.mfa_required(user, rt.settings.security)
            assert needs == (login.totp_secret is not None)
            if needs:
                assert login.totp_secret is not None and user.totp_secret is not None
                assert user.totp_confirmed and login.totp_secret not in user.totp_secret  # sealed, not in clear
                assert rt.box.open_text(user.totp_secret) == login.totp_secret
                assert security.totp_valid(login.totp_secret, pyotp.TOTP(login.totp_secret).now())
        session.rollback()


def test_scopes_of_demo_users(seeded: tuple[Runtime, DemoLogins]) -> None:
    rt, logins = seeded

    def visible(username: str, **filters: str) -> tuple[list[Site], int]:
        user = session.scalars(select(User).where(User.username == username)).one()
        rows, total = site_service.list_sites(session=session, actor=account_service.actor_for(user),
                                              filters=SiteFilter(**filters), per_page=1000)
        return list(rows), total

    with rt.sessions() as session:
        rows, total = visible("school_admin")
        assert total == 1 and len(rows) == 1
        assert rows[0].code in logins.for_role("school_admin").scope
        rows, total = visible("field_unit")
        assert total > 10 and all(s.jurisdiction.code == "TR-99-01" for s in rows)
        _, province = visible("operator")
        _, everything = visible("admin")
        other = session.scalar(select(func.count(Site.id)).where(Site.jurisdiction_path.like("/TR/TR-98/%")))
        assert other and province == everything - other


def test_demo_is_audited_and_the_chain_verifies(seeded: tuple[Runtime, DemoLogins]) -> None:
    rt, _ = seeded
    with rt.engine.connect() as conn:
        report = verify_database(conn, rt.signer.public)
    assert report.ok, report.problems
    assert report.entries > 1000 and report.checkpoints >= 1
    with rt.sessions() as session:
        created = session.scalar(select(func.count()).where(AuditEntry.action == "site.create",
                                                            AuditEntry.actor == "demo"))
        assert created == 300
        assert session.scalar(select(func.count()).where(AuditEntry.action == "user.create")) == len(Role)


def test_seeding_again_adds_nothing(seeded: tuple[Runtime, DemoLogins]) -> None:
    rt, logins = seeded

    def counts() -> tuple[int | None, ...]:
        with rt.sessions() as session:
            return tuple(session.scalar(select(func.count()).select_from(t))
                         for t in (Site, User, Jurisdiction, Commission, AuditEntry))

    before = counts()
    with rt.sessions.begin() as session:
        again = seed(session, box=rt.box, settings=rt.settings, sites=300)
    assert counts() == before
    assert not again.created
    assert again.logins == logins.logins


def test_same_seed_gives_same_data(tmp_path: Path) -> None:
    def snapshot(where: Path, seed_value: int) -> list[tuple[str, ...]]:
        rt = _runtime(where, None)
        try:
            with rt.sessions.begin() as session:
                seed(session, box=rt.box, settings=rt.settings, sites=25, seed=seed_value)
            with rt.sessions() as session:
                return [tuple(str(v) for v in r) for r in session.execute(
                    select(Site.code, Site.name, Site.type, Site.rollout_status, Site.compliance_status,
                           Site.latitude).order_by(Site.code))]
        finally:
            rt.close()

    first = snapshot(tmp_path / "a", 7)
    assert len(first) == 25
    assert snapshot(tmp_path / "b", 7) == first
    assert snapshot(tmp_path / "c", 8) != first


# --- the real command --------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    """Run the command on this checkout's code, whatever the venv's editable install points at."""
    env = dict(os.environ)
    src = str(Path(kgys.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("KGYS_CONFIG", None)
    env.pop("KGYS_DATABASE__URL", None)
    return env


def _kgys(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KGYS, *args], capture_output=True, text=True, env=_env(), timeout=300, check=False)


@pytest.fixture(scope="module")
def cli_demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory seeded by ``kgys demo --no-serve --sites 60``."""
    data = tmp_path_factory.mktemp("cli-demo") / "demo"
    r = _kgys("demo", "--no-serve", "--data-dir", str(data), "--sites", "60")
    assert r.returncode == 0, r.stderr
    assert _admin_password(data) in r.stdout and "school_admin" in r.stdout
    assert "60 sites" in r.stdout
    return data


def _admin_password(data: Path) -> str:
    """The admin's demo password: random for the folder, derived from its own secret key."""
    return demo_password((data / "keys" / "secret.key").read_text().strip(), "admin")


def _verify(data: Path) -> subprocess.CompletedProcess[str]:
    return _kgys("--data-dir", str(data), "--mode", "demo", "audit", "verify")


def test_cli_demo_seeds_once_and_audit_verifies(cli_demo_dir: Path) -> None:
    r = _verify(cli_demo_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout
    again = _kgys("demo", "--no-serve", "--data-dir", str(cli_demo_dir), "--sites", "60")
    assert again.returncode == 0, again.stderr
    assert "nothing added" in again.stdout and "60 sites" in again.stdout
    assert _admin_password(cli_demo_dir) in again.stdout  # a second start prints the same logins
    with sqlite3.connect(cli_demo_dir / "kgys.db") as db:
        assert db.execute("SELECT count(*) FROM sites").fetchone() == (60,)
        stored = [str(v) for (v,) in db.execute("SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL")]
    key = (cli_demo_dir / "keys" / "secret.key").read_text().strip()
    shown = demo_totp_secret(key, "admin")
    assert shown in again.stdout  # printed for the demo user to add to an app…
    assert stored and not any(shown in v for v in stored)  # …but stored sealed, not in clear


def test_cli_audit_log_refuses_changes_while_its_triggers_stand(cli_demo_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "copy"
    shutil.copytree(cli_demo_dir, data)
    db = sqlite3.connect(data / "kgys.db")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit_entries SET actor = 'x' WHERE seq = 5")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM audit_entries WHERE seq = 5")
    finally:
        db.close()


def _tamper(data: Path, how: str) -> int:
    """Change the audit log behind kgys's back the way an insider with database access could; return the seq."""
    db = sqlite3.connect(data / "kgys.db")
    try:
        db.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        db.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
        last = db.execute("SELECT max(seq) FROM audit_entries").fetchone()[0]
        if how == "altered":
            seq = 42
            db.execute("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = ?", (seq,))
        elif how == "deleted":
            seq = 57
            db.execute("DELETE FROM audit_entries WHERE seq = ?", (seq,))
        else:
            seq = last + 1
            cols = [r[1] for r in db.execute("PRAGMA table_info(audit_entries)")]
            row = dict(zip(cols, db.execute("SELECT * FROM audit_entries WHERE seq = 10").fetchone(), strict=True))
            row |= {"seq": seq, "action": "site.delete", "actor": "forger"}
            db.execute(f"INSERT INTO audit_entries ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                       [row[c] for c in cols])
        db.commit()
        return int(seq)
    finally:
        db.close()


@pytest.mark.parametrize("how", ["altered", "deleted", "inserted"])
def test_cli_audit_verify_names_the_tampered_entry(cli_demo_dir: Path, tmp_path: Path, how: str) -> None:
    data = tmp_path / "copy"
    shutil.copytree(cli_demo_dir, data)
    assert _verify(data).returncode == 0
    seq = _tamper(data, how)
    r = _verify(data)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"entry {seq}" in out and how in out, out


def test_cli_demo_reset_starts_over(cli_demo_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "copy"
    shutil.copytree(cli_demo_dir, data)
    _tamper(data, "altered")
    r = _kgys("demo", "--no-serve", "--reset", "--data-dir", str(data), "--sites", "20")
    assert r.returncode == 0, r.stderr
    assert "20 sites" in r.stdout
    with sqlite3.connect(data / "kgys.db") as db:
        assert db.execute("SELECT count(*) FROM sites").fetchone() == (20,)
    assert _verify(data).returncode == 0
