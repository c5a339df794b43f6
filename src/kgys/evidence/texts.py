"""What the evidence pages, the API and the audit log's screen say about a footage request, in words to translate:
the labels of its audit actions and of its states. Pure data; translated when shown."""

from __future__ import annotations

from kgys.audit.actions import AuditAction
from kgys.said import marked as _

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
    AuditAction.EVIDENCE_RELEASE_CLIP_CREATE: _("Clip of a release cut"),
    AuditAction.EVIDENCE_RELEASE_CLIP_UPDATE: _("Clip of a release changed"),
    AuditAction.EVIDENCE_RELEASE_CLIP_DELETE: _("Clip of a release deleted"),
    AuditAction.EVIDENCE_RELEASE_STEP: _("Step of a release's package"),
    AuditAction.EVIDENCE_RELEASE_REVIEW: _("Redaction of a release reviewed"),
    AuditAction.EVIDENCE_RELEASE_FRAME_VIEW: _("Frame of a release viewed for review"),
    AuditAction.EVIDENCE_RELEASE_LINK: _("Download link of a release issued"),
    AuditAction.EVIDENCE_RELEASE_DOWNLOAD: _("Package of a release downloaded"),
    AuditAction.EVIDENCE_RELEASE_RECEIPT: _("Package handed over (receipt)"),
}
AUDIT_FILTERS = ("footage_request", "evidence_scope", "evidence_decision", "evidence_approval", "evidence_release",
                 "evidence_release_clip", "evidence.refused")
STATES = {"awaiting": _("Awaiting decision"), "granted": _("Granted, awaiting approval"), "refused": _("Refused"),
          "expired": _("Expired without a decision"), "approved": _("Approved for release"),
          "withheld": _("Release withheld")}
OUTCOMES = {"granted": _("Granted"), "refused": _("Refused"), "approved": _("Approved"), "withheld": _("Withheld")}
AUTHORITIES = {"court": _("Court (criminal judgeship of peace)"), "prosecutor": _("Chief public prosecutor's office")}
RELEASE_STATES = {"queued": _("Queued"), "cutting": _("Cutting the clips"), "detecting": _("Finding faces"),
                  "awaiting_review": _("Awaiting redaction review"), "rendering": _("Redacting and marking"),
                  "packaging": _("Signing the package"), "ready": _("Ready to download"),
                  "downloaded": _("Downloaded"), "expired": _("Expired"), "failed": _("Failed")}
RELEASE_ERRORS = {"no_recording": _("Nothing was recorded in a range of this release."),
                  "segment_missing": _("A recorded segment is missing from the store."),
                  "ffmpeg_failed": _("ffmpeg could not cut or encode a clip."),
                  "redaction_failed": _("The faces could not be found or hidden."),
                  "package_failed": _("The package could not be built."),
                  "clip_changed": _("A clip changed after its faces were reviewed."),
                  "internal": _("An unexpected error stopped the build.")}
