"""Reads and writes of footage requests, their scope, decisions, approvals and releases.

Every write is attributed (actor, reason, legal basis) by the caller through
:func:`kgys.audit.mechanism.acting_as`, so that the audit entry of each change carries the legal basis of the step.
A request's state moves only as :func:`kgys.evidence.rules.next_state` allows, by a compare-and-set on its
``version`` (:func:`move`): of two people answering one request at once, one wins and the other is told it changed.
Services take keyword-only arguments and an explicit session, and flush.

:func:`within_approved_scope` is the one question other domains ask: may this user see this footage for an
investigation?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, not_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.evidence import rules
from kgys.evidence.models import Approval, Decision, FootageRequest, Release, ScopeItem
from kgys.evidence.rules import Range
from kgys.said import _
from kgys.sites.models import Site

TEXT_LIMITS = {"investigation_no": 64, "requesting_unit": 200, "purpose": 2000}
AT_MOST = _("at most %(max_length)s characters")
CHANGED = "the request changed meanwhile; reload it and try again"
LISTED = 200
MOVES = {"grant": "be granted", "refuse": "be refused", "expire": "expire", "approve": "be approved",
         "withhold": "be withheld"}


def clean(field: str, value: str, errors: list[FieldError], *, required: bool = True) -> str:
    """``value`` stripped; a problem added to ``errors`` when it is missing (and ``required``) or too long."""
    text = (value or "").strip()
    limit = TEXT_LIMITS.get(field, 200)
    if required and not text:
        errors.append(FieldError(field, "is required"))
    elif len(text) > limit:
        errors.append(FieldError.said(field, AT_MOST, max_length=limit))
    return text


def check_request(*, investigation_no: str, requesting_unit: str, purpose: str,
                  items: Sequence[Range]) -> tuple[str, str, str]:
    """The trimmed investigation number, unit and purpose once the request is sound; ValidationFailed naming
    every field at fault (the ranges as ``scope[i].start`` / ``scope[i].end``). Pure."""
    errors: list[FieldError] = []
    number = clean("investigation_no", investigation_no, errors)
    unit = clean("requesting_unit", requesting_unit, errors)
    text = clean("purpose", purpose, errors)
    errors += rules.range_errors(items)
    if errors:
        raise ValidationFailed(errors)
    return number, unit, text


def add_request(*, session: Session, actor: Actor, investigation_no: str, requesting_unit: str, purpose: str,
                hold_until: datetime, now: datetime) -> FootageRequest:
    """A new request awaiting its decision (flushed, so that it has its id)."""
    if actor.id is None:
        raise NotFound("footage is requested by a user")
    row = FootageRequest(investigation_no=investigation_no, requesting_unit=requesting_unit, purpose=purpose,
                         requested_by=actor.id, requested_by_name=actor.username[:64], state="awaiting",
                         hold_until=hold_until, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def add_item(*, session: Session, request: FootageRequest, kind: str, item: Range, site_id: int,
             hold_id: int | None) -> ScopeItem:
    """One camera × range of a request (``kind`` requested or granted), with the hold keeping it."""
    row = ScopeItem(request_id=request.id, kind=kind, camera_id=item.camera_id, site_id=site_id, start=item.start,
                    end=item.end, hold_id=hold_id)
    session.add(row)
    session.flush()
    return row


def require_any(actor: Actor) -> None:
    """PermissionDenied unless the actor sees footage requests: every one of the scope (``evidence.read``), or the
    ones they made (``evidence.request``)."""
    if not actor.can(Perm.EVIDENCE_REQUEST):
        actor.require(Perm.EVIDENCE_READ)


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """SQL: the requests the actor may see: every camera asked for lies in the actor's scope, and the actor reads
    every request of the scope (``evidence.read``: a decider, an approver, an auditor) or made this one."""
    mine = true() if actor.can(Perm.EVIDENCE_READ) else FootageRequest.requested_by == (actor.id or 0)
    if actor.scope.is_global:
        return mine
    outside = (select(ScopeItem.id).join(Site, Site.id == ScopeItem.site_id)
               .where(ScopeItem.request_id == FootageRequest.id,
                      not_(actor.scope.clause(Site.jurisdiction_path, Site.id))).exists())
    return and_(not_(outside), mine)


def get(*, session: Session, actor: Actor, request_id: int) -> FootageRequest:
    """One request the actor may see; NotFound for one outside the scope as for one that does not exist."""
    require_any(actor)
    row = session.scalar(select(FootageRequest).where(FootageRequest.id == request_id, visible_clause(actor)))
    if row is None:
        raise NotFound(f"no footage request {request_id}", request_id=request_id)
    return row


def listing(*, session: Session, actor: Actor, state: str | None = None) -> list[FootageRequest]:
    """The requests the actor may see, newest first (the last 200), of one state when given."""
    require_any(actor)
    stmt = select(FootageRequest).where(visible_clause(actor))
    if state:
        stmt = stmt.where(FootageRequest.state == state)
    return list(session.scalars(stmt.order_by(FootageRequest.id.desc()).limit(LISTED)))


def items(*, session: Session, request_id: int, kind: str) -> list[ScopeItem]:
    """A request's scope items of ``kind`` (requested or granted), in order."""
    return list(session.scalars(select(ScopeItem).where(ScopeItem.request_id == request_id, ScopeItem.kind == kind)
                                .order_by(ScopeItem.id)))


def ranges(rows: Sequence[ScopeItem]) -> list[Range]:
    """Scope items as plain ranges."""
    return [Range(r.camera_id, r.start, r.end) for r in rows]


def decision_of(*, session: Session, request_id: int) -> Decision | None:
    """The decision recorded on a request, if any."""
    return session.scalar(select(Decision).where(Decision.request_id == request_id))


def approval_of(*, session: Session, request_id: int) -> Approval | None:
    """The second person's answer to a request, if any."""
    return session.scalar(select(Approval).where(Approval.request_id == request_id))


def releases_of(*, session: Session, request_id: int) -> list[Release]:
    """The releases made under a request, oldest first."""
    return list(session.scalars(select(Release).where(Release.request_id == request_id).order_by(Release.id)))


def move(*, session: Session, request: FootageRequest, event: str, now: datetime) -> str:
    """Move the request on ``event`` (a compare-and-set on its version, flushed): its new state. Conflict when the
    move is not allowed from its state, or when another change came first."""
    target = rules.next_state(request.state, event)
    if target is None:
        raise Conflict(f"footage request {request.id} is {request.state}: it cannot {MOVES.get(event, event)} now",
                       request_id=request.id, state=request.state, field="state")
    request_id = request.id  # the row is expired once its flush fails
    request.state = target
    request.updated_at = now
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(CHANGED, request_id=request_id) from None
    return target


def require_version(request: FootageRequest, version: int | None) -> None:
    """Conflict when the caller answered a request as it was at ``version`` and it has changed since."""
    if version is not None and version != request.version:
        raise Conflict(CHANGED, request_id=request.id, version=request.version)


def due_to_expire(*, session: Session, now: datetime) -> list[int]:
    """The requests still awaiting a decision whose wait is over."""
    return list(session.scalars(select(FootageRequest.id).where(FootageRequest.state == "awaiting",
                                                                FootageRequest.hold_until <= now)
                                .order_by(FootageRequest.id)))


def decision_valid(decision: Decision | None, now: datetime) -> bool:
    """Whether a decision grants footage at ``now``: granted, and its validity not yet over."""
    return (decision is not None and decision.outcome == "granted" and decision.valid_until is not None
            and decision.valid_until > now)


@dataclass(frozen=True)
class Grant:
    """An approved request that lets its requester see some footage, and when its decision's validity ends (a
    viewing opened under it ends then too)."""

    request: FootageRequest
    valid_until: datetime


def within_approved_scope(session: Session, user_id: int, camera_id: int, start: datetime, end: datetime,
                          now: datetime) -> Grant | None:
    """The approved request of ``user_id`` whose granted scope covers the camera's footage from ``start`` to
    ``end`` under a decision still valid at ``now``; None when there is none (the footage is not theirs to see).
    Of several, the one whose decision stays valid the longest."""
    stmt = (select(FootageRequest, Decision.valid_until).join(Decision, Decision.request_id == FootageRequest.id)
            .where(FootageRequest.requested_by == user_id, FootageRequest.state == "approved",
                   Decision.outcome == "granted", Decision.valid_until > now,
                   exists().where(ScopeItem.request_id == FootageRequest.id, ScopeItem.kind == "granted",
                                  ScopeItem.camera_id == camera_id))
            .order_by(Decision.valid_until.desc(), FootageRequest.id))
    for request, valid_until in session.execute(stmt):
        granted = ranges(items(session=session, request_id=request.id, kind="granted"))
        if valid_until is not None and rules.covered(granted, camera_id, start, end):
            return Grant(request, valid_until)
    return None


def legal_basis_of(*, session: Session, request: FootageRequest) -> str:
    """The legal basis a step under ``request`` is audited with: its decision, or its investigation before one."""
    decision = decision_of(session=session, request_id=request.id)
    if decision is not None:
        return decision.legal_basis()
    return f"investigation no. {request.investigation_no}: judicial decision awaited"


@dataclass(frozen=True)
class Detail:
    """A request with its scope asked for and granted, its decision, its approval and its releases."""

    request: FootageRequest
    requested: list[ScopeItem]
    granted: list[ScopeItem]
    decision: Decision | None
    approval: Approval | None
    releases: list[Release]


def detail(*, session: Session, actor: Actor, request_id: int) -> Detail:
    """One request the actor may see, with everything recorded on it."""
    row = get(session=session, actor=actor, request_id=request_id)
    return Detail(row, items(session=session, request_id=row.id, kind="requested"),
                  items(session=session, request_id=row.id, kind="granted"),
                  decision_of(session=session, request_id=row.id), approval_of(session=session, request_id=row.id),
                  releases_of(session=session, request_id=row.id))
