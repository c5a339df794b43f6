"""Import every domain's models so the metadata is complete (migrations, tests)."""

from kgys.accounts import models as accounts_models
from kgys.alerts import models as alerts_models
from kgys.audit import models as audit_models
from kgys.cameras import models as cameras_models
from kgys.db import Base
from kgys.devices import models as devices_models
from kgys.dispatch import models as dispatch_models
from kgys.events import models as events_models
from kgys.evidence import models as evidence_models
from kgys.exports import models as exports_models
from kgys.incidents import models as incidents_models
from kgys.kades import models as kades_models
from kgys.live import models as live_models
from kgys.recording import models as recording_models
from kgys.sites import models as sites_models

__all__ = ["Base", "accounts_models", "alerts_models", "audit_models", "cameras_models", "devices_models",
           "dispatch_models", "events_models", "evidence_models", "exports_models", "incidents_models",
           "kades_models", "live_models", "recording_models", "sites_models"]
