"""Releases refused (SQLite and PostgreSQL): beyond the decision's grant, by a role without the permission or a
person other than the requester, of another district's camera, after the decision's validity ended, with bad input
(naming the field, writing nothing), a review outside its step, and a receipt before the download."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kgys.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kgys.evidence.flows import releases
from kgys.evidence.models import Release
from kgys.evidence.rules import Range
from tests.evidence.conftest import Ev
from tests.evidence.release_material import approved
from tests.recording.test_retention_job import T0

M = timedelta(minutes=1)


def _order(ev: Ev, req_id: int, items: list[Range], who: str = "inv", **kw: Any) -> Release:
    args: dict[str, Any] = {"recipient": "Savcılık", "organisation": "", "redact": False, "watermark": False,
                            "include_segments": False} | kw
    return releases.order(session=ev.session, actor=ev.actors[who], request_id=req_id, items=items,
                          signer=ev.w.rt.signer, now=ev.now, **args)


def _count(ev: Ev) -> int:
    return int(ev.session.scalar(select(func.count()).select_from(Release)) or 0)


@pytest.fixture
def granted(ev: Ev) -> tuple[Ev, int]:
    """An approved request granting camera a1 for 30 minutes from T0."""
    req = approved(ev, [Range(ev.cam("a1"), T0, T0 + 30 * M)])
    return ev, req.id


def test_a_release_beyond_the_grant_is_refused_naming_the_item(granted: tuple[Ev, int]) -> None:
    ev, rid = granted
    with pytest.raises(ValidationFailed) as caught:
        _order(ev, rid, [Range(ev.cam("a1"), T0, T0 + 10 * M), Range(ev.cam("a1"), T0 + 20 * M, T0 + 31 * M)])
    assert [e.field for e in caught.value.errors] == ["scope[1]"]
    with pytest.raises(ValidationFailed) as caught:
        _order(ev, rid, [Range(ev.cam("a2"), T0, T0 + 10 * M)])
    assert [e.field for e in caught.value.errors] == ["scope[0]"]
    assert _count(ev) == 0


@pytest.mark.parametrize("who", ["op", "liaison", "auditor", "sup", "admin"])
def test_only_the_requester_orders_a_release(granted: tuple[Ev, int], who: str) -> None:
    ev, rid = granted
    with pytest.raises(PermissionDenied):
        _order(ev, rid, [Range(ev.cam("a1"), T0, T0 + 10 * M)], who=who)
    assert _count(ev) == 0


def test_another_districts_camera_or_request_is_refused(granted: tuple[Ev, int]) -> None:
    ev, rid = granted
    with pytest.raises(NotFound):
        _order(ev, rid, [Range(ev.cam("a1"), T0, T0 + 10 * M)], who="inv_b")
    with pytest.raises(ValidationFailed) as caught:
        _order(ev, rid, [Range(ev.cam("b1"), T0, T0 + 10 * M)])
    assert [e.field for e in caught.value.errors] == ["scope[0].camera_id"]
    assert _count(ev) == 0


def test_no_release_after_the_decision_expired(granted: tuple[Ev, int]) -> None:
    ev, rid = granted
    ev.w.clock.now += timedelta(days=91)
    with pytest.raises(Conflict, match="validity"):
        _order(ev, rid, [Range(ev.cam("a1"), T0, T0 + 10 * M)])
    assert _count(ev) == 0


@pytest.mark.parametrize(("change", "field"), [({"recipient": " "}, "recipient"),
                                                ({"organisation": "x" * 201}, "organisation")])
def test_bad_input_names_the_field_and_writes_nothing(granted: tuple[Ev, int], change: dict[str, Any],
                                                      field: str) -> None:
    ev, rid = granted
    with pytest.raises(ValidationFailed) as caught:
        _order(ev, rid, [Range(ev.cam("a1"), T0, T0 + 10 * M)], **change)
    assert [e.field for e in caught.value.errors] == [field]
    assert _count(ev) == 0 and ev.entries("evidence_release.create") == []


def test_review_link_and_receipt_wait_for_their_step(granted: tuple[Ev, int]) -> None:
    ev, rid = granted
    rel = _order(ev, rid, [Range(ev.cam("a1"), T0, T0 + 10 * M)], redact=True)
    data_dir, signer = ev.w.rt.settings.data_dir, ev.w.rt.signer
    with pytest.raises(Conflict, match="awaits the review"):
        releases.confirm(session=ev.session, actor=ev.actors["sup"], request_id=rid, release_id=rel.id,
                         signer=signer, now=ev.now)
    with pytest.raises(PermissionDenied):
        releases.review(session=ev.session, actor=ev.actors["liaison"], request_id=rid, release_id=rel.id,
                        data_dir=data_dir)
    with pytest.raises(Conflict, match="ready package"):
        releases.issue_link(session=ev.session, actor=ev.actors["inv"], request_id=rid, release_id=rel.id,
                            signer=signer, now=ev.now, keep=timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        releases.issue_link(session=ev.session, actor=ev.actors["sup"], request_id=rid, release_id=rel.id,
                            signer=signer, now=ev.now, keep=timedelta(hours=1))
    with pytest.raises(ValidationFailed) as caught:
        releases.receipt(session=ev.session, actor=ev.actors["inv"], request_id=rid, release_id=rel.id, name="",
                         id_no="x" * 65, at=ev.now + timedelta(days=1), note="", signer=signer, now=ev.now)
    assert [e.field for e in caught.value.errors] == ["name", "id_no", "at"]
    with pytest.raises(Conflict, match="downloaded package"):
        releases.receipt(session=ev.session, actor=ev.actors["inv"], request_id=rid, release_id=rel.id,
                         name="Av. Zeynep Kaya", id_no="B-1234", at=None, note="", signer=signer, now=ev.now)
    assert ev.entries("evidence_release.receipt") == []
