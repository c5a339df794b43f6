"""``GET /api/v1/health``: whether this server can reach its database and the schema is the one it runs on.

For load balancers and monitoring: no sign-in, no personal data, one short read. 200 when healthy, 503 (with
Retry-After) when the database does not answer or is busy.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import text

from kgys import __version__
from kgys.web.deps import DB
from kgys.web.routing import Router

router = Router(tags=["health"])


class HealthOut(BaseModel):
    """The server's own view of its health."""

    status: str = Field(description="`ok` when the database answered.")
    version: str = Field(description="The kgys version serving.")
    database: str = Field(description="The database engine: sqlite or postgresql.")


@router.get("/health", response_model=HealthOut)
def health(session: DB) -> HealthOut:
    """The server is up and its database answers."""
    session.execute(text("SELECT 1"))
    return HealthOut(status="ok", version=__version__, database=session.get_bind().dialect.name)
