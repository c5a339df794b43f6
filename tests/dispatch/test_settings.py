"""The ``[dispatch]`` settings: speeds per kind from the environment as JSON, and nonsense refused by name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kgys.config import Settings


def test_speeds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGYS_DISPATCH__SPEEDS_KMH", '{"patrol_car": 55, "motorcycle": 60}')
    monkeypatch.setenv("KGYS_DISPATCH__STALE_AFTER_SECONDS", "120")
    s = Settings(mode="dev")
    assert s.dispatch.speeds_kmh == {"patrol_car": 55.0, "motorcycle": 60.0}
    assert s.dispatch.stale_after_seconds == 120.0 and s.dispatch.detour_factor == 1.4


@pytest.mark.parametrize(("section", "where"), [
    ({"speeds_kmh": {"patrol_car": 0}}, "dispatch.speeds_kmh.patrol_car"),
    ({"speeds_kmh": {"foot_patrol": 900}}, "dispatch.speeds_kmh.foot_patrol"),
    ({"detour_factor": 0.5}, "dispatch.detour_factor"),
    ({"ack_within_seconds": 0}, "dispatch.ack_within_seconds"),
])
def test_nonsense_is_refused_by_name(section: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError, match=where.replace(".", r"\.")):
        Settings(mode="dev", dispatch=section)
