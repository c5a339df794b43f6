"""The field page: a field unit's own assignments and status, for a phone's browser."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
