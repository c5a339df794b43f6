"""Units' trackers: the broker login a unit's vehicle tracker uses to report positions over MQTT."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
