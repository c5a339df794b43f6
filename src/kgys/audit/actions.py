"""Every action an audit entry can name, as stored in ``audit_log.action``.

Changes to audited models are named ``<object type>.<create|update|delete>`` by the mechanism
(:mod:`kgys.audit.mechanism`); the other events are appended by the domain that knows of them. The web UI
shows each in words (:func:`kgys.web.labels.action_label`). The values are the strings stored since the
first release: never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    """What an audit entry records."""

    SITE_CREATE = "site.create"
    SITE_UPDATE = "site.update"
    SITE_DELETE = "site.delete"
    ROLLOUT_CREATE = "rollout.create"
    ROLLOUT_UPDATE = "rollout.update"
    ROLLOUT_DELETE = "rollout.delete"
    COMMISSION_CREATE = "commission.create"
    COMMISSION_UPDATE = "commission.update"
    COMMISSION_DELETE = "commission.delete"
    RECORDER_CREATE = "recorder.create"
    RECORDER_UPDATE = "recorder.update"
    RECORDER_DELETE = "recorder.delete"
    CAMERA_CREATE = "camera.create"
    CAMERA_UPDATE = "camera.update"
    CAMERA_DELETE = "camera.delete"
    DEVICE_CREATE = "device.create"
    DEVICE_UPDATE = "device.update"
    DEVICE_DELETE = "device.delete"
    LEGAL_HOLD_CREATE = "legal_hold.create"
    LEGAL_HOLD_UPDATE = "legal_hold.update"
    LEGAL_HOLD_DELETE = "legal_hold.delete"
    DESTRUCTION_CREATE = "destruction.create"
    DESTRUCTION_UPDATE = "destruction.update"
    DESTRUCTION_DELETE = "destruction.delete"
    RETENTION_POLICY_CREATE = "retention_policy.create"
    RETENTION_POLICY_UPDATE = "retention_policy.update"
    RETENTION_POLICY_DELETE = "retention_policy.delete"
    JURISDICTION_CREATE = "jurisdiction.create"
    IMPORT_APPLY = "import.apply"
    LOGIN_SUCCESS = "login.success"
    LOGIN_FAIL = "login.fail"
    LOGIN_MFA_FAIL = "login.mfa_fail"
    LOGOUT = "logout"
    TOKEN_ISSUE = "token.issue"
    TOKEN_REVOKE = "token.revoke"
    USER_CREATE = "user.create"
    USER_ENABLE = "user.enable"
    USER_DISABLE = "user.disable"
    USER_CHANGE_ACCESS = "user.change_access"
    USER_RESET_PASSWORD = "user.reset_password"
    USER_MFA_ENROL = "user.mfa_enrol"
    CAMERA_LIVE_VIEW = "camera.live.view"
    CAMERA_PLAYBACK_VIEW = "camera.playback.view"
    CAMERA_CLIP_EXPORT = "camera.clip.export"
    ROADS_IMPORT = "roads.import"
    ALERT_CLAIM = "alert.claim"
    ALERT_RELEASE = "alert.release"
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    ALERT_DISPATCH = "alert.dispatch"
    ALERT_NOTE = "alert.note"
    ALERT_RESOLVE = "alert.resolve"
    PROTECTION_ORDER_CREATE = "protection_order.create"
    PROTECTION_ORDER_UPDATE = "protection_order.update"
    PROTECTION_ORDER_DELETE = "protection_order.delete"
    PROTECTION_ORDER_VIEW = "protection_order.view"
    KADES_PHONE_REGISTER = "kades_phone.register"
    KADES_PHONE_DISABLE = "kades_phone.disable"
    UNIT_CREATE = "unit.create"
    UNIT_UPDATE = "unit.update"
    UNIT_DELETE = "unit.delete"
    INCIDENT_CREATE = "incident.create"
    INCIDENT_UPDATE = "incident.update"
    INCIDENT_DELETE = "incident.delete"
    ASSIGNMENT_CREATE = "assignment.create"
    ASSIGNMENT_UPDATE = "assignment.update"
    ASSIGNMENT_DELETE = "assignment.delete"


def changed(object_type: str, op: str) -> str:
    """The action the mechanism names a change to an audited model with (``op``: create, update, delete)."""
    return f"{object_type}.{op}"
