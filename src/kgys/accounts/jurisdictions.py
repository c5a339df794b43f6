"""Creating the jurisdiction tree (country → province → district): the one place nodes are made.

Jurisdictions are accounts' table: a user's scope is a set of its nodes. Sites (the registry, the importer
and the shipped list of provinces) and the command line create nodes through these functions only, so a
node has the same checks (permission, scope, unique code) and the same audit entry however it was made.
Services here take keyword-only arguments and an explicit session, and flush.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import refusals
from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.accounts.schemas import JurisdictionCreate
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.errors import Conflict, FieldError, PermissionDenied, ValidationFailed

PARENT_KIND = {"province": "country", "district": "province"}


def _refuse_taken(session: Session, code: str) -> None:
    if session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == code)) is not None:
        raise Conflict(f"jurisdiction '{code}' already exists", field="code")


def create_country(*, session: Session, actor: Actor, code: str, name: str, reason: str | None = None) -> Jurisdiction:
    """Create the root of the jurisdiction tree (once per installation), audited."""
    actor.require(Perm.JURISDICTIONS_EDIT)
    if not actor.scope.is_global:
        raise PermissionDenied("only a user with nationwide scope may add a country")
    _refuse_taken(session, code)
    node = Jurisdiction(kind="country", code=code, name=name, path=f"/{code}/")
    session.add(node)
    session.flush()
    audit_service.append(session, actor=actor, action=AuditAction.JURISDICTION_CREATE, object_type="jurisdiction",
                         object_id=code, reason=reason, details={"kind": "country"})
    return node


def create_jurisdiction(*, session: Session, actor: Actor, data: JurisdictionCreate) -> Jurisdiction:
    """Add a province under a country or a district under a province, audited."""
    actor.require(Perm.JURISDICTIONS_EDIT)
    parent = session.scalar(select(Jurisdiction).where(Jurisdiction.code == data.parent))
    want_parent = PARENT_KIND[data.kind]
    if parent is None or parent.kind != want_parent:
        raise ValidationFailed([FieldError.said("parent", refusals.NO_PARENT[want_parent], code=data.parent)])
    if not actor.scope.covers_path(parent.path):
        raise PermissionDenied("parent is outside your scope")
    _refuse_taken(session, data.code)
    node = Jurisdiction(kind=data.kind, code=data.code, name=data.name, parent_id=parent.id,
                        path=f"{parent.path}{data.code}/", latitude=data.latitude, longitude=data.longitude)
    session.add(node)
    session.flush()
    audit_service.append(session, actor=actor, action=AuditAction.JURISDICTION_CREATE, object_type="jurisdiction",
                         object_id=data.code, details={"kind": data.kind, "parent": data.parent})
    return node
