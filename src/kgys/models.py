"""Import every domain's models so the metadata is complete (migrations, tests)."""

from kgys.accounts import models as accounts_models
from kgys.audit import models as audit_models
from kgys.cameras import models as cameras_models
from kgys.db import Base
from kgys.recording import models as recording_models
from kgys.sites import models as sites_models

__all__ = ["Base", "accounts_models", "audit_models", "cameras_models", "recording_models", "sites_models"]
