"""Every router of every domain, in one place, so the app and the authorisation tests see the same list."""

from __future__ import annotations

from fastapi import FastAPI

from kgys.accounts import pages as account_pages
from kgys.accounts import user_pages
from kgys.accounts import views as account_views
from kgys.alerts import pages as alert_pages
from kgys.alerts import stream as alert_stream
from kgys.alerts import views as alert_views
from kgys.audit import pages as audit_pages
from kgys.audit import views as audit_views
from kgys.cameras import pages as camera_pages
from kgys.cameras import views as camera_views
from kgys.devices import pages as device_pages
from kgys.devices import views as device_views
from kgys.dispatch import field_pages as dispatch_field_pages
from kgys.dispatch import pages as dispatch_pages
from kgys.dispatch import report_views as dispatch_report_views
from kgys.dispatch import tracker_views as dispatch_tracker_views
from kgys.dispatch import unit_pages as dispatch_unit_pages
from kgys.dispatch import views as dispatch_views
from kgys.evidence import pages as evidence_pages
from kgys.evidence import release_pages as evidence_release_pages
from kgys.evidence import release_views as evidence_release_views
from kgys.evidence import views as evidence_views
from kgys.exports import pages as export_pages
from kgys.exports import views as export_views
from kgys.incidents import pages as incident_pages
from kgys.incidents import views as incident_views
from kgys.kades import views as kades_views
from kgys.live import pages as live_pages
from kgys.live import views as live_views
from kgys.recording import pages as recording_pages
from kgys.recording import views as recording_views
from kgys.sites import import_views
from kgys.sites import pages as site_pages
from kgys.sites import views as site_views
from kgys.web import health


def include_routes(app: FastAPI) -> None:
    """Attach the API routers (under /api/v1) and the UI pages."""
    app.include_router(health.router, prefix="/api/v1")
    app.include_router(account_views.router, prefix="/api/v1")
    app.include_router(site_views.router, prefix="/api/v1")
    app.include_router(import_views.router, prefix="/api/v1")
    app.include_router(camera_views.router, prefix="/api/v1")
    app.include_router(audit_views.router, prefix="/api/v1")
    app.include_router(live_views.router, prefix="/api/v1")
    app.include_router(recording_views.router, prefix="/api/v1")
    app.include_router(alert_views.router, prefix="/api/v1")
    app.include_router(alert_stream.router, prefix="/api/v1")
    app.include_router(kades_views.router, prefix="/api/v1")
    app.include_router(kades_views.app_router, prefix="/api/v1")
    app.include_router(device_views.router, prefix="/api/v1")
    app.include_router(incident_views.router, prefix="/api/v1")
    app.include_router(dispatch_views.router, prefix="/api/v1")
    app.include_router(dispatch_report_views.router, prefix="/api/v1")
    app.include_router(dispatch_tracker_views.router, prefix="/api/v1")
    app.include_router(export_views.router, prefix="/api/v1")
    app.include_router(evidence_views.router, prefix="/api/v1")
    app.include_router(evidence_release_views.router, prefix="/api/v1")
    app.include_router(account_pages.router)
    app.include_router(user_pages.router)
    app.include_router(site_pages.router)
    app.include_router(import_views.pages)
    app.include_router(camera_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(live_pages.router)
    app.include_router(recording_pages.router)
    app.include_router(alert_pages.router)
    app.include_router(device_pages.router)
    app.include_router(dispatch_pages.router)
    app.include_router(incident_pages.router)
    app.include_router(dispatch_unit_pages.router)
    app.include_router(dispatch_field_pages.router)
    app.include_router(dispatch_report_views.pages)
    app.include_router(export_pages.router)
    app.include_router(evidence_pages.router)
    app.include_router(evidence_release_pages.router)
    live_views.install(app)
