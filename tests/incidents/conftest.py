"""Incident fixtures: the dispatch world (people of two districts, units, alerts) on the test's transaction."""

from __future__ import annotations

from tests.dispatch import conftest as dispatch_fixtures

client, token_for, world = dispatch_fixtures.client, dispatch_fixtures.token_for, dispatch_fixtures.world
