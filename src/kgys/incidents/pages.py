"""Web UI of incidents: the list, one incident with its timeline, recommended units and assignments."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
