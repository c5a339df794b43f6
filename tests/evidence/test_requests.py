"""Footage requests on the database (SQLite and PostgreSQL): opened with a provisional hold on exactly the footage
asked for, decided (narrower granted, wider refused), approved by a second person, expired when no decision comes;
every refusal names its field and leaves nothing behind; every step is audited with its legal basis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kgys.errors import Conflict, PermissionDenied, ValidationFailed
from kgys.evidence import documents, service
from kgys.evidence.flows import decisions, requests
from kgys.evidence.models import Approval, Decision, FootageRequest, ScopeItem
from kgys.evidence.rules import Range
from kgys.recording import holdrule
from kgys.recording.models import LegalHold
from tests.evidence.conftest import PDF, WAIT, Ev
from tests.recording.test_retention_job import T0

H = timedelta(hours=1)
M = timedelta(minutes=1)
BASIS = "CMK 134 / Merkez Sulh Ceza decision no. 2025/77 D.İş of 2025-03-01"


def _holds(ev: Ev) -> list[LegalHold]:
    return list(ev.session.scalars(select(LegalHold).order_by(LegalHold.id)))


def _count(ev: Ev, model: type) -> int:
    return int(ev.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_request_holds_exactly_the_footage_asked_for_until_the_wait_is_over(ev: Ev) -> None:
    items = [Range(ev.cam("a1"), T0, T0 + H), Range(ev.cam("a2"), T0 + 2 * H, T0 + 3 * H)]
    req = ev.open(items=items)
    assert (req.state, req.hold_until, req.requested_by_name) == ("awaiting", T0 + WAIT, "inv-investigator")
    held = _holds(ev)
    assert [(h.camera_id, h.start, h.end, h.until, h.released_at) for h in held] == [
        (ev.cam("a1"), T0, T0 + H, T0 + WAIT, None), (ev.cam("a2"), T0 + 2 * H, T0 + 3 * H, T0 + WAIT, None)]
    rows = service.items(session=ev.session, request_id=req.id, kind="requested")
    assert [r.hold_id for r in rows] == [h.id for h in held]
    created = ev.entries("footage_request.create")
    assert len(created) == 1 and created[0].legal_basis == "investigation no. 2025/123: judicial decision awaited"
    assert created[0].reason == "hırsızlık soruşturması" and created[0].actor == "inv-investigator"
    holds_audit = ev.entries("legal_hold.create")
    assert all(f"footage request #{req.id}" in (e.legal_basis or "") for e in holds_audit) and len(holds_audit) == 2
    assert len(ev.entries("evidence_scope.create")) == 2


def test_another_districts_camera_is_refused_naming_the_item_and_nothing_is_written(ev: Ev) -> None:
    items = [Range(ev.cam("a1"), T0, T0 + H), Range(ev.cam("b1"), T0, T0 + H)]
    with pytest.raises(ValidationFailed) as exc:
        ev.open(items=items)
    assert [(e.field, e.message) for e in exc.value.errors] == [("scope[1].camera_id",
                                                                f"no camera {ev.cam('b1')} within your scope")]
    ev.session.rollback()
    assert _count(ev, FootageRequest) == 0 and _count(ev, LegalHold) == 0


@pytest.mark.parametrize("who", ["op", "liaison", "sup", "auditor"])
def test_a_role_without_the_request_permission_is_refused(ev: Ev, who: str) -> None:
    with pytest.raises(PermissionDenied, match="evidence.request"):
        ev.open(who=who)


def test_bad_input_names_every_field(ev: Ev) -> None:
    items = [Range(ev.cam("a1"), T0, T0 - H), Range(ev.cam("a1"), T0.replace(tzinfo=None), T0 + H)]
    with pytest.raises(ValidationFailed) as exc:
        ev.open(items=items, investigation_no=" ", requesting_unit="x" * 201, purpose="")
    assert sorted(e.field for e in exc.value.errors) == sorted(
        ["investigation_no", "requesting_unit", "purpose", "scope[0].end", "scope[1].start"])
    assert _count(ev, FootageRequest) == 0


def test_a_narrower_grant_holds_what_it_grants_until_its_validity_and_lets_the_rest_go(ev: Ev) -> None:
    req = ev.open()
    grant = [Range(ev.cam("a1"), T0 + 10 * M, T0 + 20 * M)]
    decision = ev.decide(req, scope=grant, valid=timedelta(days=90))
    assert req.state == "granted" and decision.legal_basis() == BASIS
    provisional, granted = _holds(ev)
    assert provisional.released_at == ev.now and "replaced by the decision" in (
        ev.entries("legal_hold.update")[0].reason or "")
    assert (granted.start, granted.end, granted.until, granted.legal_basis) == (
        T0 + 10 * M, T0 + 20 * M, ev.now + timedelta(days=90), BASIS)
    assert service.ranges(service.items(session=ev.session, request_id=req.id, kind="granted")) == grant
    stored = documents.path_of(ev.w.rt.settings.data_dir, decision.document_sha256, "application/pdf")
    assert stored.read_bytes() == PDF and decision.document_size == len(PDF)
    entry = ev.entries("evidence_decision.create")[0]
    assert entry.legal_basis == BASIS and entry.actor == "liaison-judicial_liaison"
    assert ev.entries("footage_request.update")[-1].legal_basis == BASIS


def test_a_grant_wider_than_asked_is_refused_naming_the_item_and_nothing_is_kept(ev: Ev) -> None:
    req = ev.open()
    before = set(documents.folder(ev.w.rt.settings.data_dir).iterdir())
    with pytest.raises(ValidationFailed) as exc:
        ev.decide(req, scope=[Range(ev.cam("a1"), T0, T0 + 2 * H)], content=PDF + b"wider")
    assert [e.field for e in exc.value.errors] == ["scope[0]"]
    assert "never more" in exc.value.errors[0].message
    assert set(documents.folder(ev.w.rt.settings.data_dir).iterdir()) == before  # the upload is gone
    ev.session.rollback()
    assert _count(ev, Decision) == 0


@pytest.mark.parametrize(("content", "field"), [(b"GIF89a...", "document"), (b"", "document"),
                                                 (b"MZ\x90\x00 not a pdf", "document")])
def test_a_forged_or_empty_document_is_refused(ev: Ev, content: bytes, field: str) -> None:
    req = ev.open()
    with pytest.raises(ValidationFailed) as exc:
        ev.decide(req, content=content)
    assert [e.field for e in exc.value.errors] == [field]


def test_an_oversized_document_is_refused_while_it_streams(ev: Ev) -> None:
    with pytest.raises(ValidationFailed) as exc:
        documents.Upload.receive(iter([PDF, b"x" * 2048]), name="karar.pdf", data_dir=ev.w.rt.settings.data_dir,
                                 limit=1024)
    assert [e.field for e in exc.value.errors] == ["document"] and "larger than" in exc.value.errors[0].message
    assert not list(documents.folder(ev.w.rt.settings.data_dir).glob(".upload-*"))


def test_a_refusal_releases_every_provisional_hold(ev: Ev) -> None:
    req = ev.open(items=[Range(ev.cam("a1"), T0, T0 + H), Range(ev.cam("a2"), T0, T0 + H)])
    decision = ev.decide(req, outcome="refused")
    assert req.state == "refused" and decision.refusal_reason == "yetersiz gerekçe" and decision.valid_until is None
    assert [h.released_at for h in _holds(ev)] == [ev.now, ev.now]
    with pytest.raises(Conflict, match="refused: it cannot be granted"):
        ev.decide(req)


def test_a_refusal_needs_its_reason_and_a_grant_its_validity(ev: Ev) -> None:
    req = ev.open()
    with pytest.raises(ValidationFailed) as exc:
        ev.decide(req, outcome="refused", refusal_reason=" ")
    assert [e.field for e in exc.value.errors] == ["refusal_reason"]
    with pytest.raises(ValidationFailed) as exc:
        ev.decide(req, valid=-timedelta(days=1))
    assert [e.field for e in exc.value.errors] == ["valid_until"]


def test_the_second_person_approves_and_the_requester_never_does(ev: Ev) -> None:
    req = ev.open(who="admin")
    ev.decide(req)
    with pytest.raises(PermissionDenied, match="four eyes"):
        ev.approve(req, who="admin")
    for who in ("inv", "liaison", "op"):
        with pytest.raises(PermissionDenied, match="evidence.approve"):
            ev.approve(req, who=who)
    row = ev.approve(req, who="sup")
    assert (req.state, row.outcome, row.approver_name) == ("approved", "approved", "sup-supervisor")
    assert ev.entries("evidence_approval.create")[0].legal_basis == BASIS
    with pytest.raises(Conflict, match="approved: it cannot be approved"):
        ev.approve(req, who="sup2")


def test_an_expired_or_refused_decision_cannot_be_approved(ev: Ev) -> None:
    req = ev.open()
    ev.decide(req, valid=timedelta(days=2))
    ev.w.clock.now += timedelta(days=2)
    with pytest.raises(Conflict, match="valid_until"):
        ev.approve(req)
    refused = ev.open()
    ev.decide(refused, outcome="refused")
    with pytest.raises(Conflict, match="no granted decision"):
        ev.approve(refused)
    assert _count(ev, Approval) == 0


def test_the_approver_may_withhold_the_release_with_a_note(ev: Ev) -> None:
    req = ev.open()
    ev.decide(req)
    with pytest.raises(ValidationFailed) as exc:
        ev.approve(req, approve=False, note="")
    assert [e.field for e in exc.value.errors] == ["note"]
    ev.approve(req, approve=False, note="kapsam belirsiz")
    assert req.state == "withheld"


def test_a_request_with_no_decision_in_time_expires(ev: Ev) -> None:
    old = ev.open()
    ev.w.clock.now += timedelta(days=1)
    young = ev.open()
    ev.w.clock.now = old.hold_until - timedelta(seconds=1)
    assert requests.expire_due(ev.session, ev.now) == []
    ev.w.clock.now = old.hold_until
    assert requests.expire_due(ev.session, ev.now) == [old.id]
    assert (old.state, young.state) == ("expired", "awaiting")
    entry = ev.entries("footage_request.update")[-1]
    assert entry.actor == "evidence.expiry" and "decision" in (entry.reason or "")
    assert not holdrule.in_force(_holds(ev)[0], ev.now)
    with pytest.raises(Conflict):
        ev.decide(old)


def test_playback_is_within_an_approved_valid_grant_of_ones_own_request_only(ev: Ev) -> None:
    req = ev.open()
    inv = ev.actors["inv"].id
    assert inv is not None
    a1, a2 = ev.cam("a1"), ev.cam("a2")
    inside = (a1, T0 + 12 * M, T0 + 15 * M)

    def may(user: int | None, cam: int, start, end) -> bool:  # type: ignore[no-untyped-def]
        return service.within_approved_scope(ev.session, user or 0, cam, start, end, ev.now) is not None

    ev.decide(req, scope=[Range(a1, T0 + 10 * M, T0 + 20 * M)], valid=timedelta(days=30))
    assert not may(inv, *inside)  # granted, not yet approved
    ev.approve(req)
    assert may(inv, *inside)
    assert not may(inv, a1, T0 + 5 * M, T0 + 15 * M)  # reaches before the grant
    assert not may(inv, a2, T0 + 12 * M, T0 + 15 * M)  # another camera
    assert not may(ev.actors["sup"].id, *inside)  # not their request
    ev.w.clock.now += timedelta(days=30)
    assert not may(inv, *inside)  # the decision's validity is over


def test_a_release_covers_nothing_beyond_the_grant(ev: Ev) -> None:
    req = ev.open()
    ev.decide(req, scope=[Range(ev.cam("a1"), T0, T0 + 30 * M)])
    with pytest.raises(Conflict, match="only an approved request"):
        decisions.record_release(session=ev.session, actor=ev.actors["inv"], request_id=req.id,
                                 items=[Range(ev.cam("a1"), T0, T0 + 10 * M)], recipient="Savcılık", now=ev.now)
    ev.approve(req)
    with pytest.raises(ValidationFailed) as exc:
        decisions.record_release(session=ev.session, actor=ev.actors["inv"], request_id=req.id,
                                 items=[Range(ev.cam("a1"), T0, T0 + 31 * M)], recipient="Savcılık", now=ev.now)
    assert [e.field for e in exc.value.errors] == ["scope[0]"]
    row = decisions.record_release(session=ev.session, actor=ev.actors["inv"], request_id=req.id,
                                   items=[Range(ev.cam("a1"), T0, T0 + 10 * M)], recipient="Savcılık", now=ev.now)
    assert row.approved_by_name == "sup-supervisor" and row.items[0]["camera_id"] == ev.cam("a1")
    assert ev.entries("evidence_release.create")[0].legal_basis == BASIS


def test_requests_are_seen_within_scope_and_by_their_requester(ev: Ev) -> None:
    req = ev.open()
    other = ev.open(who="inv_b", items=[Range(ev.cam("b1"), T0, T0 + H)])
    seen = {who: [r.id for r in service.listing(session=ev.session, actor=ev.actors[who])]
            for who in ("inv", "inv_b", "liaison", "sup", "auditor")}
    assert seen == {"inv": [req.id], "inv_b": [other.id], "liaison": [req.id], "sup": [req.id],
                    "auditor": [req.id]}
    assert ev.session.scalar(select(func.count()).select_from(ScopeItem)) == 2
