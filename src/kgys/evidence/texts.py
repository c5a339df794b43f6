"""What the evidence pages, the API and the audit log's screen say about a footage request, in words to translate:
the labels of its audit actions and of its states. Pure data; translated when shown."""

from __future__ import annotations

from kgys.audit.actions import AuditAction


def _(message: str) -> str:
    """Mark ``message`` for the catalogues; it is translated when shown."""
    return message


ACTION_LABELS: dict[AuditAction, str] = {
    AuditAction.FOOTAGE_REQUEST_CREATE: _("Footage request made"),
    AuditAction.FOOTAGE_REQUEST_UPDATE: _("Footage request changed"),
    AuditAction.FOOTAGE_REQUEST_DELETE: _("Footage request deleted"),
    AuditAction.EVIDENCE_SCOPE_CREATE: _("Footage added to a request's scope"),
    AuditAction.EVIDENCE_SCOPE_UPDATE: _("Footage of a request's scope changed"),
    AuditAction.EVIDENCE_SCOPE_DELETE: _("Footage removed from a request's scope"),
    AuditAction.EVIDENCE_DECISION_CREATE: _("Judicial decision recorded"),
    AuditAction.EVIDENCE_DECISION_UPDATE: _("Judicial decision changed"),
    AuditAction.EVIDENCE_DECISION_DELETE: _("Judicial decision deleted"),
    AuditAction.EVIDENCE_APPROVAL_CREATE: _("Release approved or withheld (second approval)"),
    AuditAction.EVIDENCE_APPROVAL_UPDATE: _("Second approval changed"),
    AuditAction.EVIDENCE_APPROVAL_DELETE: _("Second approval deleted"),
    AuditAction.EVIDENCE_RELEASE_CREATE: _("Footage released"),
    AuditAction.EVIDENCE_RELEASE_UPDATE: _("Footage release changed"),
    AuditAction.EVIDENCE_RELEASE_DELETE: _("Footage release deleted"),
    AuditAction.EVIDENCE_REFUSED: _("Evidence step refused"),
    AuditAction.EVIDENCE_DOCUMENT_VIEW: _("Scanned decision downloaded"),
}
AUDIT_FILTERS = ("footage_request", "evidence_scope", "evidence_decision", "evidence_approval", "evidence_release",
                 "evidence.refused")
STATES = {"awaiting": _("Awaiting decision"), "granted": _("Granted, awaiting approval"), "refused": _("Refused"),
          "expired": _("Expired without a decision"), "approved": _("Approved for release"),
          "withheld": _("Release withheld")}
OUTCOMES = {"granted": _("Granted"), "refused": _("Refused"), "approved": _("Approved"), "withheld": _("Withheld")}
AUTHORITIES = {"court": _("Court (criminal judgeship of peace)"), "prosecutor": _("Chief public prosecutor's office")}
