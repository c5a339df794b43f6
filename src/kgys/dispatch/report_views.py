"""Dispatch reports: response times by district, shift, priority and unit kind, and units' utilisation."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
pages = APIRouter(include_in_schema=False)
