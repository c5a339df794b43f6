"""Web UI of the unit registry: the list of units, adding and editing one."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
