"""Legal holds: who may place them, in which scope, what is checked, what the audit log shows, and release."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor, Scope
from kgys.audit.models import AuditEntry
from kgys.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kgys.recording import holds
from kgys.recording.flows import holds as hold_flows
from kgys.recording.models import LegalHold
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests import factories

KGYS = [sys.executable, "-m", "kgys"]  # the command line of this environment's kgys

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def investigator(path: str = "/TR/TR-99/", role: str = "investigator") -> Actor:
    return Actor(id=None, username=f"{role}-1", role=role, scope=Scope(paths=(path,)))


@pytest.fixture
def sites(rt: Runtime, session: Session) -> tuple[Site, Site]:
    """A site in TR-99-A and one in TR-98-C, each with cameras 'Giriş' and 'Çevre'."""
    factories.tree(session)
    a = factories.site(session, "TR-99-A")
    c = factories.site(session, "TR-98-C")
    factories.compliant_system(session, rt.box, a.code)
    factories.compliant_system(session, rt.box, c.code)
    return a, c


def place(session: Session, site: Site, actor: Actor | None = None, **kw: Any) -> LegalHold:
    args: dict[str, object] = {"camera": "Giriş", "start": T0, "end": T0 + 2 * H,
                               "reason": "Soruşturma 2025/117: okul önünde yaralama",
                               "legal_basis": "Ankara C. Başsavcılığı 2025/117 soruşturma no.", "now": NOW}
    args.update(kw)
    return hold_flows.add_hold(session=session, actor=actor or investigator(), site_code=site.code, **args)  # type: ignore[arg-type]


def entries(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_placing_a_hold_stores_it_and_audits_reason_and_legal_basis(session: Session, sites: tuple[Site, Site]) -> None:
    a, _ = sites
    h = place(session, a, until=NOW + 90 * 24 * H)
    stored = session.get(LegalHold, h.id)
    assert stored is not None
    assert (stored.start, stored.end, stored.until, stored.created_by) == (T0, T0 + 2 * H, NOW + 90 * 24 * H,
                                                                           "investigator-1")
    assert stored.site_id == a.id and stored.released_at is None
    [entry] = entries(session, "legal_hold.create")
    assert entry.actor == "investigator-1"
    assert entry.reason == "Soruşturma 2025/117: okul önünde yaralama"
    assert entry.legal_basis == "Ankara C. Başsavcılığı 2025/117 soruşturma no."
    assert entry.site_id == a.id and entry.object_id == str(h.id)


@pytest.mark.parametrize(
    ("kw", "fields"),
    [
        pytest.param({"reason": "   "}, {"reason"}, id="blank reason"),
        pytest.param({"legal_basis": ""}, {"legal_basis"}, id="no legal basis"),
        pytest.param({"reason": "", "legal_basis": ""}, {"reason", "legal_basis"}, id="both missing, both named"),
        pytest.param({"end": T0 - H}, {"end"}, id="end before start"),
        pytest.param({"start": datetime(2025, 3, 1, 8, 0)}, {"start"}, id="time without zone"),
        pytest.param({"until": NOW - H}, {"until"}, id="until already past"),
        pytest.param({"reason": "x" * 2001}, {"reason"}, id="reason too long"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(session: Session, sites: tuple[Site, Site],
                                                      kw: dict[str, object], fields: set[str]) -> None:
    a, _ = sites
    with pytest.raises(ValidationFailed) as exc:
        place(session, a, None, **kw)
    assert {e.field for e in exc.value.errors} == fields
    assert session.scalar(select(func.count()).select_from(LegalHold)) == 0
    assert entries(session, "legal_hold.create") == []


def test_unknown_camera_is_not_found(session: Session, sites: tuple[Site, Site]) -> None:
    a, _ = sites
    with pytest.raises(NotFound, match="no camera 'Arka Bahçe'"):
        place(session, a, camera="Arka Bahçe")


def test_a_site_outside_scope_cannot_be_held_or_seen(session: Session, sites: tuple[Site, Site]) -> None:
    a, c = sites
    with pytest.raises(NotFound):
        place(session, c, actor=investigator("/TR/TR-99/"))
    other = place(session, c, actor=investigator("/TR/TR-98/"))
    mine = place(session, a, actor=investigator("/TR/TR-99/"))
    seen = [h.id for h, _, _ in hold_flows.list_holds(session=session, actor=investigator("/TR/TR-99/"))[0]]
    assert seen == [mine.id]
    with pytest.raises(NotFound):
        hold_flows.get_hold(session=session, actor=investigator("/TR/TR-99/"), hold_id=other.id)
    with pytest.raises(NotFound):
        hold_flows.release_hold(session=session, actor=investigator("/TR/TR-99/"), hold_id=other.id, reason="done")
    assert session.get(LegalHold, other.id).released_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize("role", ["operator", "school_admin", "dispatcher", "auditor", "field_unit"])
def test_roles_without_investigative_duty_cannot_place_holds(session: Session, sites: tuple[Site, Site],
                                                             role: str) -> None:
    a, _ = sites
    with pytest.raises(PermissionDenied):
        place(session, a, actor=investigator(role=role))


@pytest.mark.parametrize("role", ["investigator", "judicial_liaison", "supervisor", "admin"])
def test_investigative_roles_can_place_holds(session: Session, sites: tuple[Site, Site], role: str) -> None:
    a, _ = sites
    assert place(session, a, actor=investigator(role=role)).id


def test_the_auditor_may_list_but_the_operator_may_not(session: Session, sites: tuple[Site, Site]) -> None:
    a, _ = sites
    h = place(session, a)
    auditor = Actor(id=None, username="au", role="auditor", scope=Scope(is_global=True))
    assert [x.id for x, _, _ in hold_flows.list_holds(session=session, actor=auditor)[0]] == [h.id]
    with pytest.raises(PermissionDenied):
        hold_flows.list_holds(session=session, actor=investigator(role="operator"))


def test_release_keeps_the_row_with_who_and_when_and_is_audited(session: Session, sites: tuple[Site, Site]) -> None:
    a, _ = sites
    h = place(session, a)
    later = NOW + 24 * H
    released = hold_flows.release_hold(session=session, actor=investigator(role="judicial_liaison"), hold_id=h.id,
                                       reason="Kovuşturmaya yer olmadığı kararı", now=later)
    assert released.released_at == later and released.released_by == "judicial_liaison-1"
    assert session.get(LegalHold, h.id) is not None
    [entry] = entries(session, "legal_hold.update")
    assert entry.reason == "Kovuşturmaya yer olmadığı kararı"
    assert entry.legal_basis == h.legal_basis
    assert set(json.loads(entry.details)["fields"]) == {"released_at", "released_by"}
    with pytest.raises(Conflict, match="already released"):
        hold_flows.release_hold(session=session, actor=investigator(), hold_id=h.id, reason="again", now=later)
    with pytest.raises(ValidationFailed):
        hold_flows.release_hold(session=session, actor=investigator(), hold_id=h.id, reason=" ", now=later)


def test_active_holds_exclude_released_and_lapsed(session: Session, sites: tuple[Site, Site]) -> None:
    a, _ = sites
    open_ = place(session, a)
    lapsing = place(session, a, until=NOW + H)
    released = place(session, a, camera="Çevre")
    hold_flows.release_hold(session=session, actor=investigator(), hold_id=released.id, reason="no longer needed",
                            now=NOW + H)
    cams = {open_.camera_id, released.camera_id}
    at = {t: {i.id for i in holds.active_for_cameras(session=session, camera_ids=cams, now=t)}
          for t in (NOW, NOW + 2 * H)}
    assert at[NOW] == {open_.id, lapsing.id, released.id}
    assert at[NOW + 2 * H] == {open_.id}
    listed, total = hold_flows.list_holds(session=session, actor=investigator(), site_code=a.code, active_only=True,
                                          now=NOW + 2 * H)
    assert [h.id for h, _, _ in listed] == [open_.id] and total == 1
    by_camera, total = hold_flows.list_holds(session=session, actor=investigator(), site_code=a.code, camera="Çevre")
    assert [h.id for h, _, _ in by_camera] == [released.id] and total == 1


def test_the_session_actor_is_restored_after_a_hold(session: Session, sites: tuple[Site, Site]) -> None:
    a, _ = sites
    from kgys.audit.mechanism import current_actor

    before = current_actor(session)
    place(session, a)
    assert current_actor(session) is before


def test_the_command_line_places_lists_and_releases_a_hold(tmp_path: Path) -> None:
    from kgys.config import Settings
    from kgys.db import transaction
    from kgys.runtime import make_runtime

    rt = make_runtime(Settings(mode="dev", data_dir=tmp_path), upgrade=True)
    with transaction(rt.sessions) as s:
        factories.tree(s)
        factories.site(s, "TR-99-A", code="OKUL-CLI")
        factories.compliant_system(s, rt.box, "OKUL-CLI")
    env = {**os.environ, "KGYS_DATA_DIR": str(tmp_path), "KGYS_MODE": "dev", "COLUMNS": "250"}

    def kgys(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*KGYS, *args], env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    added = kgys("holds", "add", "OKUL-CLI", "Giriş", "--from", "2025-03-01T08:00", "--to", "2025-03-01T09:30",
                 "--tz", "Europe/Istanbul", "--reason", "Soruşturma 2025/117", "--legal-basis", "CBS 2025/117")
    assert added.returncode == 0, added.stderr
    assert "hold 1 placed on OKUL-CLI/Giriş: 2025-03-01 05:00:00 – 2025-03-01 06:30:00 UTC" in added.stdout
    bad = kgys("holds", "add", "OKUL-CLI", "Giriş", "--from", "dün", "--to", "2025-03-01T09:30Z",
               "--reason", "x", "--legal-basis", "y")
    assert bad.returncode == 1 and "from: not an ISO 8601 time" in bad.stderr and "Traceback" not in bad.stderr
    listed = kgys("holds", "list", "--active")
    assert listed.returncode == 0 and "1 hold(s)" in listed.stdout and "OKUL-CLI" in listed.stdout
    released = kgys("holds", "release", "1", "--reason", "Takipsizlik kararı")
    assert released.returncode == 0, released.stderr
    again = kgys("holds", "release", "1", "--reason", "again")
    assert again.returncode == 1 and "already released" in again.stderr
    assert "0 hold(s)" in kgys("holds", "list", "--active").stdout
    with transaction(rt.sessions) as s:
        [hold] = s.scalars(select(LegalHold)).all()
        assert hold.released_at is not None and hold.released_by is not None
        assert hold.released_by.startswith("cli:")
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.object_type == "legal_hold")
                                               .order_by(AuditEntry.seq))]
        assert actions == ["legal_hold.create", "legal_hold.update"]
    rt.close()
