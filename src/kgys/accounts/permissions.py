"""Roles and what each may do. Pure data: one table that every check reads."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The roles of kgys users."""

    ADMIN = "admin"
    OPERATOR = "operator"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    INVESTIGATOR = "investigator"
    JUDICIAL_LIAISON = "judicial_liaison"
    SCHOOL_ADMIN = "school_admin"
    COMMISSION_MEMBER = "commission_member"
    AUDITOR = "auditor"
    FIELD_UNIT = "field_unit"


class Perm(StrEnum):
    """Actions a role may be allowed."""

    SITES_READ = "sites.read"
    SITES_CREATE = "sites.create"
    SITES_EDIT = "sites.edit"
    ROLLOUT_EDIT = "rollout.edit"
    SITES_IMPORT = "sites.import"
    CAMERAS_READ = "cameras.read"
    CAMERAS_EDIT = "cameras.edit"
    COMPLIANCE_READ = "compliance.read"
    DASHBOARD_READ = "dashboard.read"
    AUDIT_READ = "audit.read"
    USERS_MANAGE = "users.manage"
    JURISDICTIONS_EDIT = "jurisdictions.edit"
    HOLDS_READ = "holds.read"
    HOLDS_MANAGE = "holds.manage"
    LIVE_VIEW = "live.view"
    PLAYBACK = "playback.view"
    CLIP_EXPORT = "clip.export"
    ALERTS_READ = "alerts.read"
    ALERTS_HANDLE = "alerts.handle"
    ALERTS_SUPERVISE = "alerts.supervise"
    KADES_MANAGE = "kades.manage"
    DISPATCH_READ = "dispatch.read"
    DISPATCH_ASSIGN = "dispatch.assign"
    UNITS_MANAGE = "units.manage"
    UNITS_REPORT = "units.report"
    EVIDENCE_REQUEST = "evidence.request"
    EVIDENCE_READ = "evidence.read"
    EVIDENCE_DECIDE = "evidence.decide"
    EVIDENCE_APPROVE = "evidence.approve"


_ALL = frozenset(Perm)
_READ_REGISTRY = frozenset({Perm.SITES_READ, Perm.CAMERAS_READ, Perm.COMPLIANCE_READ})
# sending units: reading units and incidents, making incidents, assigning, moving assignments for a unit
_DISPATCH = frozenset({Perm.DISPATCH_READ, Perm.DISPATCH_ASSIGN, Perm.UNITS_REPORT})

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: _ALL,
    Role.OPERATOR: _READ_REGISTRY | {Perm.DASHBOARD_READ, Perm.LIVE_VIEW, Perm.ALERTS_READ, Perm.ALERTS_HANDLE}
    | _DISPATCH,
    Role.DISPATCHER: frozenset({Perm.SITES_READ, Perm.ALERTS_READ, Perm.ALERTS_HANDLE}) | _DISPATCH,
    Role.SUPERVISOR: _READ_REGISTRY | {Perm.DASHBOARD_READ, Perm.AUDIT_READ, Perm.HOLDS_READ, Perm.HOLDS_MANAGE,
                                       Perm.LIVE_VIEW, Perm.PLAYBACK, Perm.CLIP_EXPORT, Perm.ALERTS_READ,
                                       Perm.ALERTS_HANDLE, Perm.ALERTS_SUPERVISE, Perm.KADES_MANAGE}
    | _DISPATCH | {Perm.UNITS_MANAGE, Perm.EVIDENCE_READ, Perm.EVIDENCE_APPROVE},
    # an investigator sees footage only through a footage request of their own: no blanket playback or export;
    # playback within an approved request's scope is allowed by the evidence domain (kgys.evidence.service)
    Role.INVESTIGATOR: frozenset({Perm.SITES_READ, Perm.CAMERAS_READ, Perm.HOLDS_READ, Perm.HOLDS_MANAGE,
                                  Perm.EVIDENCE_REQUEST}),
    Role.JUDICIAL_LIAISON: frozenset({Perm.SITES_READ, Perm.HOLDS_READ, Perm.HOLDS_MANAGE, Perm.EVIDENCE_READ,
                                      Perm.EVIDENCE_DECIDE}),
    Role.SCHOOL_ADMIN: _READ_REGISTRY | {Perm.SITES_EDIT, Perm.CAMERAS_EDIT, Perm.SITES_IMPORT, Perm.LIVE_VIEW,
                                         Perm.PLAYBACK, Perm.ALERTS_READ},
    Role.COMMISSION_MEMBER: _READ_REGISTRY
    | {Perm.SITES_CREATE, Perm.SITES_EDIT, Perm.ROLLOUT_EDIT, Perm.SITES_IMPORT, Perm.DASHBOARD_READ},
    Role.AUDITOR: frozenset({Perm.AUDIT_READ, Perm.DASHBOARD_READ, Perm.SITES_READ, Perm.COMPLIANCE_READ,
                             Perm.HOLDS_READ, Perm.EVIDENCE_READ}),
    # a field login speaks for its own unit only (its status, position, assignments)
    Role.FIELD_UNIT: frozenset({Perm.SITES_READ, Perm.UNITS_REPORT}),
}


def allows(role: str, perm: Perm) -> bool:
    """Whether ``role`` carries ``perm``."""
    try:
        return perm in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
