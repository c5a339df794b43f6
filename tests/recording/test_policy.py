"""Per-site retention policies: who may set them, what is checked, scope, the audit trail, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor, Scope
from kgys.audit.models import AuditEntry
from kgys.errors import NotFound, PermissionDenied, ValidationFailed
from kgys.recording import retention_job
from kgys.recording.flows import policy as policy_flows
from kgys.recording.retention import Policy, default_policy
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests import factories

KGYS = [sys.executable, "-m", "kgys"]  # the command line of this environment's kgys
CENTRAL = default_policy("central")


def _actor(role: str, path: str = "/TR/TR-99/") -> Actor:
    return Actor(id=None, username=f"{role}-1", role=role, scope=Scope(paths=(path,)))


@pytest.fixture
def sites(session: Session) -> tuple[Site, Site]:
    factories.tree(session)
    return factories.site(session, "TR-99-A"), factories.site(session, "TR-98-C")


def test_a_site_without_a_policy_follows_the_node_default(session: Session, sites: tuple[Site, Site]) -> None:
    a, _ = sites
    got = policy_flows.get_policy(session=session, actor=factories.admin(), code=a.code, default=CENTRAL)
    assert (got.days, got.min_days, got.own) == (10, 10, False)
    edge = policy_flows.get_policy(session=session, actor=factories.admin(), code=a.code,
                                   default=default_policy("edge"))
    assert edge.days == 30


def test_setting_a_policy_is_stored_audited_and_used_by_retention(session: Session, sites: tuple[Site, Site]) -> None:
    a, _ = sites
    got = policy_flows.set_policy(session=session, actor=factories.admin(), code=a.code, days=30, min_days=20,
                                  reason="okul kayıt cihazı 30 gün saklar", default=CENTRAL)
    assert (got.days, got.min_days, got.own) == (30, 20, True)
    assert retention_job.site_policies(session)[a.id] == Policy.days(30, 20)
    policy_flows.set_policy(session=session, actor=factories.admin(), code=a.code, days=45, min_days=None,
                            reason="komisyon kararı", default=CENTRAL)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "retention_policy")
                              .order_by(AuditEntry.seq)).all()
    assert [e.action for e in entries] == ["retention_policy.create", "retention_policy.update"]
    assert [e.reason for e in entries] == ["okul kayıt cihazı 30 gün saklar", "komisyon kararı"]
    assert all(e.site_id == a.id for e in entries)
    assert retention_job.site_policies(session)[a.id] == Policy.days(45)
    cleared = policy_flows.clear_policy(session=session, actor=factories.admin(), code=a.code, reason="varsayılana dön",
                                        default=CENTRAL)
    assert not cleared.own and a.id not in retention_job.site_policies(session)


@pytest.mark.parametrize(("days", "min_days", "reason", "field"), [
    (0, None, "r", "days"), (4000, None, "r", "days"), (10, 11, "r", "min_days"), (10, 0, "r", "min_days"),
    (10, 5, "  ", "reason"),
])
def test_bad_input_names_the_field(session: Session, sites: tuple[Site, Site], days: int, min_days: int | None,
                                   reason: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        policy_flows.set_policy(session=session, actor=factories.admin(), code=sites[0].code, days=days,
                                min_days=min_days, reason=reason, default=CENTRAL)
    assert field in [e.field for e in exc.value.errors]


@pytest.mark.parametrize("role", ["operator", "supervisor", "investigator", "school_admin", "commission_member"])
def test_only_administrators_set_policies(session: Session, sites: tuple[Site, Site], role: str) -> None:
    with pytest.raises(PermissionDenied):
        policy_flows.set_policy(session=session, actor=_actor(role), code=sites[0].code, days=5, min_days=None,
                                reason="r", default=CENTRAL)


def test_reads_are_scoped(session: Session, sites: tuple[Site, Site]) -> None:
    a, c = sites
    for s in (a, c):
        policy_flows.set_policy(session=session, actor=factories.admin(), code=s.code, days=30, min_days=None,
                                reason="r", default=CENTRAL)
    operator = _actor("operator")
    seen = policy_flows.list_policies(session=session, actor=operator, default=CENTRAL)
    assert [p.site_code for p in seen] == [a.code]
    with pytest.raises(NotFound):
        policy_flows.get_policy(session=session, actor=operator, code=c.code, default=CENTRAL)
    with pytest.raises(PermissionDenied):
        policy_flows.list_policies(session=session, actor=_actor("dispatcher"), default=CENTRAL)


def test_cli_retention_set_and_show(tmp_path: Path) -> None:
    env = {**os.environ, "KGYS_MODE": "dev", "KGYS_DATA_DIR": str(tmp_path), "KGYS_RECORDING__ROLE": "edge"}
    env.pop("KGYS_DATABASE__URL", None)
    from kgys.config import Settings
    from kgys.runtime import make_runtime

    rt: Runtime = make_runtime(Settings(mode="dev", data_dir=tmp_path), upgrade=True)
    with rt.sessions.begin() as session:
        factories.tree(session)
        code = factories.site(session).code
    rt.close()

    def kgys(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*KGYS, *args], env=env, capture_output=True, text=True, timeout=60)

    shown = kgys("retention", "show", "--site", code)
    assert shown.returncode == 0, shown.stderr
    assert "default (edge node): 30 days" in shown.stdout and "default" in shown.stdout
    bad = kgys("retention", "set", code, "--days", "10", "--min-days", "20", "--reason", "x")
    assert bad.returncode == 1 and "min_days" in bad.stderr
    ok = kgys("retention", "set", code, "--days", "40", "--min-days", "30", "--reason", "okul 30 gün")
    assert ok.returncode == 0, ok.stderr
    assert f"site {code}: keep 40 days, minimum 30 days" in ok.stdout
    listed = kgys("retention", "show")
    assert code in listed.stdout and "40" in listed.stdout and "site" in listed.stdout
