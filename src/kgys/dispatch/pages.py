"""Web UI of dispatch: the operator's live map of units and incidents."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
