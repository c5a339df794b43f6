"""Display labels in the request's language for the codes the domains store (statuses, types, positions,
audit actions, alert kinds and states). The sentence for each compliance check is :mod:`kgys.web.checks`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kgys.accounts.permissions import Role
from kgys.alerts.cap import CapKind
from kgys.alerts.states import Source, State
from kgys.audit import texts as audit_texts
from kgys.audit.actions import AuditAction
from kgys.cameras import compliance as rules
from kgys.devices.kinds import DeviceAlertKind
from kgys.dispatch.kinds import DispatchAlertKind
from kgys.dispatch.states import AssignmentState, UnitKind, UnitStatus
from kgys.evidence import texts
from kgys.incidents.states import Category, IncidentState, Outcome
from kgys.kades.service import KadesKind
from kgys.recording.alerts import AlertKind
from kgys.recording.gaps import GapCause
from kgys.said import marked as _
from kgys.sites.rollout import ORDER, RolloutStatus, SiteType
from kgys.web import i18n

COMPLIANCE_STATUSES = ("compliant", "non_compliant", "no_system")
PRIORITIES = (1, 2, 3, 4, 5)


def _label(table: Mapping[Any, str], code: str) -> str:
    """The label of a stored code from its table, in the request's language (unknown codes as they are).
    Tables are keyed by the code's enum where it has one (a StrEnum member equals its stored string)."""
    message = table.get(str(code))
    return i18n.gettext(message) if message is not None else str(code)


ROLLOUT_LABELS: dict[RolloutStatus, str] = {
    RolloutStatus.NONE: _("Not started"),
    RolloutStatus.PLANNED: _("Planned"),
    RolloutStatus.TENDERED: _("Tendered"),
    RolloutStatus.CONTRACTED: _("Contracted"),
    RolloutStatus.INSTALLED: _("Installed"),
    RolloutStatus.INTEGRATED: _("Connected to the centre"),
    RolloutStatus.VERIFIED: _("Verified"),
}
SITE_TYPE_LABELS: dict[SiteType, str] = {
    SiteType.KINDERGARTEN: _("Kindergarten"),
    SiteType.PRIMARY_SCHOOL: _("Primary school"),
    SiteType.MIDDLE_SCHOOL: _("Middle school"),
    SiteType.HIGH_SCHOOL: _("High school"),
    SiteType.COLLEGE: _("College"),
    SiteType.MUNICIPAL_POINT: _("Municipal point"),
    SiteType.OTHER: _("Other"),
}
COMPLIANCE_LABELS = {"compliant": _("Compliant"), "non_compliant": _("Not compliant"),
                     "no_system": _("No camera system")}
POSITION_LABELS = {"entrance": _("Entrance"), "street_front": _("Street in front"), "perimeter": _("Perimeter"),
                   "yard": _("Yard"), "corridor": _("Corridor"), "parking": _("Car park"), "other": _("Other")}
JURISDICTION_KIND_LABELS = {"country": _("Country"), "province": _("Province"), "district": _("District")}
ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: _("Administrator"),
    Role.OPERATOR: _("Operator"),
    Role.DISPATCHER: _("Dispatcher"),
    Role.SUPERVISOR: _("Supervisor"),
    Role.INVESTIGATOR: _("Investigator"),
    Role.JUDICIAL_LIAISON: _("Judicial liaison"),
    Role.SCHOOL_ADMIN: _("School administrator"),
    Role.COMMISSION_MEMBER: _("Commission member"),
    Role.AUDITOR: _("Auditor"),
    Role.FIELD_UNIT: _("Field unit"),
}
HOLD_STATE_LABELS = {"active": _("Active"), "released": _("Released"), "expired": _("Expired")}


def rollout_label(status: str) -> str:
    """A roll-out step's name."""
    return _label(ROLLOUT_LABELS, status)


def site_type_label(kind: str) -> str:
    """A site type's name."""
    return _label(SITE_TYPE_LABELS, kind)


def compliance_label(status: str) -> str:
    """A compliance status's name."""
    return _label(COMPLIANCE_LABELS, status)


def position_label(position: str) -> str:
    """What a camera position covers."""
    return _label(POSITION_LABELS, position)


def role_label(role: str) -> str:
    """A role's name."""
    return _label(ROLE_LABELS, role)


def priority_label(priority: int | str) -> str:
    """A priority with its meaning (1 is handled first)."""
    try:
        p = int(priority)
    except (TypeError, ValueError):
        return str(priority)
    if p == 1:
        return i18n.gettext("1 – highest")
    if p == 5:
        return i18n.gettext("5 – lowest")
    return str(p)


def jurisdiction_kind_label(kind: str) -> str:
    """Province, district or country."""
    return _label(JURISDICTION_KIND_LABELS, kind)


def rollout_options() -> list[tuple[str, str]]:
    """(value, label) for every roll-out step, in order."""
    return [(s.value, rollout_label(s.value)) for s in ORDER]


def site_type_options() -> list[tuple[str, str]]:
    """(value, label) for every site type."""
    return [(t.value, site_type_label(t.value)) for t in SiteType]


def compliance_options() -> list[tuple[str, str]]:
    """(value, label) for every compliance status."""
    return [(s, compliance_label(s)) for s in COMPLIANCE_STATUSES]


def position_options() -> list[tuple[str, str]]:
    """(value, label) for every camera position."""
    return [(p, position_label(p)) for p in rules.POSITIONS]


def priority_options() -> list[tuple[str, str]]:
    """(value, label) for priorities 1–5."""
    return [(str(p), priority_label(p)) for p in PRIORITIES]


ACTION_LABELS: dict[AuditAction, str] = audit_texts.ACTION_LABELS | texts.ACTION_LABELS  # and a request's steps


def action_label(action: str) -> str:
    """What an audit entry's action means, in words."""
    return _label(ACTION_LABELS, action)


AUDIT_ACTIONS = audit_texts.AUDIT_ACTIONS + texts.AUDIT_FILTERS

GAP_CAUSE_LABELS: dict[GapCause, str] = {
    GapCause.CAMERA_OFFLINE: _("Camera offline"),
    GapCause.STREAM_ERROR: _("Stream error"),
    GapCause.STORAGE_ERROR: _("Storage error"),
    GapCause.RECORDER_DOWN: _("Recorder not running"),
    GapCause.SCHEDULED: _("Recording switched off"),
}


def gap_cause_label(cause: str) -> str:
    """A gap cause in the request's language."""
    return _label(GAP_CAUSE_LABELS, cause)


def hold_state_label(state: str) -> str:
    """A hold's state in the request's language."""
    return _label(HOLD_STATE_LABELS, state)


ALERT_KIND_LABELS: dict[AlertKind | DeviceAlertKind, str] = {
    AlertKind.RECORDING_STOPPED: _("Camera stopped recording"),
    AlertKind.SEGMENT_QUARANTINED: _("Recording file put aside"),
    AlertKind.STORAGE_ERROR: _("Recording cannot be stored"),
    AlertKind.RECORDER_DOWN: _("Recorder down"),
    AlertKind.STORAGE_PRESSURE: _("Disk nearly full: footage deleted early"),
    AlertKind.STORAGE_FULL_HELD: _("Disk full: only held or protected footage left"),
    AlertKind.STORAGE_FORECAST: _("Disk will not hold the retention period"),
    AlertKind.STORAGE_DELETE_FAILED: _("Expired footage could not be deleted"),
    DeviceAlertKind.PANIC_PRESS: _("Panic button pressed"),
    DeviceAlertKind.DEVICE_OFFLINE: _("Device not heard from"),
    DeviceAlertKind.FORCED_DOOR: _("Door forced open"),
    DeviceAlertKind.DOOR_HELD_OPEN: _("Door held open"),
    DeviceAlertKind.ENTRY_OUT_OF_HOURS: _("Entry outside school hours"),
    DeviceAlertKind.DENIED_BURST: _("Repeated refused cards"),
}


KADES_KIND_LABELS: dict[KadesKind, str] = {
    KadesKind.PRESS: _("Protected person's panic press"),
}
CAP_KIND_LABELS: dict[CapKind, str] = {
    CapKind.ALERT: _("Alert from another system (CAP)"),
}
DISPATCH_KIND_LABELS: dict[DispatchAlertKind, str] = {
    DispatchAlertKind.UNACKNOWLEDGED: _("Unit has not acknowledged its assignment"),
}
KIND_LABELS: dict[str, str] = {str(k): v for table in (ALERT_KIND_LABELS, KADES_KIND_LABELS, CAP_KIND_LABELS,
                                                       DISPATCH_KIND_LABELS) for k, v in table.items()}


def alert_kind_label(kind: str) -> str:
    """What an alert is about, in the request's language."""
    return _label(KIND_LABELS, kind)


ALERT_STATE_LABELS: dict[State, str] = {
    State.NEW: _("New"),
    State.CLAIMED: _("Taken on"),
    State.ACKNOWLEDGED: _("Acknowledged"),
    State.DISPATCHED: _("Team sent"),
    State.RESOLVED: _("Resolved"),
    State.FALSE_ALARM: _("False alarm"),
    State.DRILL: _("Drill"),
    State.TEST: _("Test"),
}


def alert_state_label(state: str) -> str:
    """Where an alert is in its handling, in the request's language."""
    return _label(ALERT_STATE_LABELS, state)


ALERT_SOURCE_LABELS: dict[Source, str] = {
    Source.PANIC: _("School panic button"),
    Source.KADES: _("Protected person's app"),
    Source.ACCESS: _("Doors and turnstiles"),
    Source.CAP: _("CAP message"),
    Source.RECORDER: _("Recording"),
    Source.OPERATOR: _("Operator"),
    Source.SYSTEM: _("System"),
}


def alert_source_label(source: str) -> str:
    """Where an alert came from, in the request's language."""
    return _label(ALERT_SOURCE_LABELS, source)


UNIT_KIND_LABELS: dict[UnitKind, str] = {
    UnitKind.PATROL_CAR: _("Patrol car"),
    UnitKind.MOTORCYCLE: _("Motorcycle team"),
    UnitKind.FOOT_PATROL: _("Foot patrol"),
    UnitKind.GENDARMERIE_TEAM: _("Gendarmerie team"),
    UnitKind.SCHOOL_LIAISON: _("School liaison officer"),
    UnitKind.DOMESTIC_VIOLENCE_TEAM: _("Domestic violence team"),
}
UNIT_STATUS_LABELS: dict[UnitStatus, str] = {
    UnitStatus.AVAILABLE: _("Available"),
    UnitStatus.EN_ROUTE: _("En route"),
    UnitStatus.ON_SCENE: _("On scene"),
    UnitStatus.BUSY: _("Busy"),
    UnitStatus.OFF_DUTY: _("Off duty"),
}
ASSIGNMENT_STATE_LABELS: dict[AssignmentState, str] = {
    AssignmentState.ASSIGNED: _("Assigned"),
    AssignmentState.ACKNOWLEDGED: _("Acknowledged by the unit"),
    AssignmentState.EN_ROUTE: _("En route"),
    AssignmentState.ON_SCENE: _("On scene"),
    AssignmentState.CLEARED: _("Cleared"),
    AssignmentState.DECLINED: _("Declined"),
    AssignmentState.CANCELLED: _("Cancelled"),
}
INCIDENT_STATE_LABELS: dict[IncidentState, str] = {
    IncidentState.OPEN: _("Awaiting a unit"),
    IncidentState.DISPATCHED: _("Unit sent"),
    IncidentState.ON_SCENE: _("Unit on scene"),
    IncidentState.CLOSED: _("Closed"),
}
INCIDENT_CATEGORY_LABELS: dict[Category, str] = {
    Category.PANIC: _("Panic alarm"),
    Category.DOMESTIC_VIOLENCE: _("Domestic violence"),
    Category.VIOLENCE: _("Violence"),
    Category.THEFT: _("Theft"),
    Category.TRAFFIC: _("Traffic"),
    Category.SUSPICIOUS: _("Suspicious person or vehicle"),
    Category.OTHER: _("Other"),
}
INCIDENT_OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.RESOLVED: _("Dealt with"),
    Outcome.FALSE_ALARM: _("False alarm"),
    Outcome.REFERRED: _("Referred to another agency"),
    Outcome.NO_TRACE: _("Nothing found on arrival"),
}


def unit_kind_label(kind: str) -> str:
    """What kind of team a unit is, in the request's language."""
    return _label(UNIT_KIND_LABELS, kind)


def unit_status_label(status: str) -> str:
    """A unit's status, in the request's language."""
    return _label(UNIT_STATUS_LABELS, status)


def assignment_state_label(state: str) -> str:
    """Where an assignment is, in the request's language."""
    return _label(ASSIGNMENT_STATE_LABELS, state)


def incident_state_label(state: str) -> str:
    """Where an incident is, in the request's language."""
    return _label(INCIDENT_STATE_LABELS, state)
