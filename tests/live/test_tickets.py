"""Viewing tickets: genuine, unexpired, for the right stream, presented with the credential they were issued to."""

from __future__ import annotations

import pytest

from kgys.errors import PermissionDenied
from kgys.live import tickets

KEY = "k" * 40


def _ticket(**kw: object) -> tickets.Ticket:
    base: dict[str, object] = {"kind": "live", "view": "v1", "camera_id": 7, "user_id": 3,
                               "binding": tickets.binding_of("cookie-a"), "expires": 1000}
    base.update(kw)
    return tickets.Ticket(**base)  # type: ignore[arg-type]


def test_round_trip() -> None:
    t = _ticket(kind="playback", start=10, end=20)
    assert tickets.decode(KEY, tickets.encode(KEY, t), now=999, credential="cookie-a", kind="playback",
                          camera_id=7) == t


@pytest.mark.parametrize(
    ("token", "now", "credential", "kind", "camera", "message"),
    [
        ("garbage", 0, "cookie-a", "live", 7, "invalid"),
        (None, 0, "cookie-a", "live", 7, "invalid"),  # tampered (see below)
        ("ok", 1000, "cookie-a", "live", 7, "expired"),
        ("ok", 0, "cookie-b", "live", 7, "another sign-in"),
        ("ok", 0, None, "live", 7, "another sign-in"),
        ("ok", 0, "cookie-a", "playback", 7, "another stream"),
        ("ok", 0, "cookie-a", "live", 8, "another stream"),
        ("otherkey", 0, "cookie-a", "live", 7, "invalid"),
    ],
)
def test_refused(token: str | None, now: float, credential: str | None, kind: str, camera: int, message: str) -> None:
    good = tickets.encode(KEY, _ticket())
    if token == "ok":
        token = good
    elif token is None:  # change the camera in the body, keep the signature
        body, mac = good.split(".")
        forged = tickets.encode(KEY, _ticket(camera_id=8)).split(".")[0]
        token = f"{forged}.{mac}"
        assert body != forged
    elif token == "otherkey":
        token = tickets.encode("x" * 40, _ticket())
    with pytest.raises(PermissionDenied, match=message):
        tickets.decode(KEY, token, now=now, credential=credential, kind=kind, camera_id=camera)


def test_binding_never_contains_the_credential() -> None:
    assert "cookie-a" not in tickets.encode(KEY, _ticket())
