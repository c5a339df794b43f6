"""A PostgreSQL database of its own for the road graph (PostGIS and pgRouting are created in it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from tests.conftest import _pg_create, _pg_drop


@pytest.fixture(scope="module")
def roads_engine() -> Iterator[Engine]:
    """A fresh PostgreSQL database; dropped after the module."""
    name = f"kgys_roads_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _pg_create(name)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        _pg_drop(name)
