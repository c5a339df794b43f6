"""A recommendation reads only the units nearest the incident when that provably holds the quickest, and all of
them when it does not."""

from __future__ import annotations

import pytest

from kgys.dispatch.flows import sending
from tests.dispatch.conftest import API, PLACE, World

M = 1 / 111_195  # degrees of latitude per metre


def _recommend(world: World, number: str, limit: int) -> list[str]:
    r = world.client.get(f"{API}/incidents/{number}/recommendations?limit={limit}", headers=world.h["op_a"])
    assert r.status_code == 200, r.text
    return [u["call_sign"] for u in r.json()["units"] if u["rank"] is not None]


def test_a_fast_unit_beyond_the_nearest_is_still_found(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "NEAREST", 0)  # read 4 × limit units first
    for i, metres in enumerate((100, 110, 120, 130)):  # four foot patrols close by: ~100-130 s on foot
        world.unit(f"FOOT-{i}", kind="foot_patrol")
        assert world.position(f"FOOT-{i}", PLACE[0] + metres * M).status_code == 200
    world.unit("CAR-1")  # a patrol car 600 m away: ~76 s
    assert world.position("CAR-1", PLACE[0] + 600 * M).status_code == 200
    number = str(world.incident(world.kades_alert())["number"])
    assert _recommend(world, number, 1) == ["CAR-1"]  # the four nearest could not prove they were quickest
    assert _recommend(world, number, 2) == ["CAR-1", "FOOT-0"]


def test_the_nearest_are_enough_when_nothing_farther_could_be_quicker(world: World,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "NEAREST", 0)
    calls: list[str] = []
    real = sending.unit_service.candidates
    monkeypatch.setattr(sending.unit_service, "candidates", lambda **kw: calls.append("all") or real(**kw))
    for i, metres in enumerate((50, 60, 70, 80, 3000)):
        world.unit(f"CAR-{i}")
        assert world.position(f"CAR-{i}", PLACE[0] + metres * M).status_code == 200
    number = str(world.incident(world.kades_alert())["number"])
    assert _recommend(world, number, 1) == ["CAR-0"]
    assert calls == []  # nothing beyond the nearest four was read
