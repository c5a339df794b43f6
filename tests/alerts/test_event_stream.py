"""The events stream (``/api/v1/events/stream``) against a real server: the topics asked for and no others, each
in the reader's scope; a field login gets its own unit's unit and assignment events only, also once its unit is
linked while it is connected; an unknown topic is refused naming ``topics``, a topic one may not read with 403;
the alert topic works as on the alert stream; a dispatch map counts as a console session. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from kgys.accounts import service as account_service
from kgys.alerts.models import ConsoleSession
from kgys.dispatch import service as unit_service
from kgys.dispatch.schemas import PositionIn, UnitIn, UnitPatch
from kgys.events import bus
from tests import factories
from tests.alerts.conftest import Served, serving
from tests.conftest import ENGINES
from tests.waiting import wait_for

BOUND = 30.0  # seconds: generous, the machine is shared


@pytest.fixture(scope="module", params=ENGINES)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A served database with, besides the operators and the auditor, two field logins."""
    with serving(request.param, tmp_path_factory.mktemp(f"events-{request.param}")) as s:
        with s.rt.sessions.begin() as session:
            for who in ("field", "field2"):
                u = factories.user(session, "field_unit", scope=["TR-99-A"], username=f"{who}-{s.kind}")
                s.headers[who] = {"Authorization": "Bearer " + account_service.issue_token(
                    session=session, settings=s.rt.settings.security, user=u)}
        yield s


def stream(served: Served, who: str, query: str) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{served.port}/api/v1/events/stream?{query}",
                   additional_headers=served.headers.get(who, {}), open_timeout=BOUND)


def events(ws: ClientConnection, n: int, timeout: float = BOUND) -> list[dict[str, Any]]:
    """The next ``n`` events (heartbeats skipped)."""
    got: list[dict[str, Any]] = []
    end = time.monotonic() + timeout
    while len(got) < n:
        left = end - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} events arrived: {got}"
        msg = json.loads(ws.recv(timeout=left))
        if msg["type"] == "event":
            got.append(msg)
    return got


def quiet(ws: ClientConnection, heartbeats: int = 2) -> list[dict[str, Any]]:
    """The events that arrive before ``heartbeats`` heartbeats have passed (the server has sent all it had)."""
    got: list[dict[str, Any]] = []
    seen = 0
    end = time.monotonic() + BOUND
    while seen < heartbeats:
        msg = json.loads(ws.recv(timeout=max(0.1, end - time.monotonic())))
        if msg["type"] == "heartbeat":
            seen += 1
        elif msg["type"] == "event":
            got.append(msg)
    return got


def seq(served: Served) -> int:
    with served.session() as s:
        return bus.last_seq(s)


def unit(served: Served, call_sign: str, district: str = "TR-99-A", field_user: str | None = None) -> None:
    with served.rt.sessions.begin() as s:
        unit_service.create_unit(session=s, actor=factories.admin(), data=UnitIn(
            call_sign=call_sign, kind="patrol_car", district=district, field_user=field_user))


def position(served: Served, call_sign: str, lat: float = 39.93) -> None:
    with served.rt.sessions.begin() as s:
        unit_service.report_position(session=s, actor=factories.admin(), call_sign=call_sign, data=PositionIn(
            latitude=lat, longitude=32.85, accuracy_m=5, reported_at=datetime.now(UTC)),
            settings=served.rt.settings.dispatch)


def test_unit_events_reach_the_district_that_sees_them(live: Served) -> None:
    after = seq(live)
    tag = live.kind[:2].upper()
    with stream(live, "op_a", f"after={after}&topics=unit,incident,assignment") as a, \
            stream(live, "op_b", f"after={after}&topics=unit") as b:
        unit(live, f"A1-{tag}")
        unit(live, f"B1-{tag}", district="TR-99-B")
        position(live, f"A1-{tag}")
        got_a = events(a, 2)
        [got_b] = events(b, 1)
    assert [(e["topic"], e["data"]["move"], e["data"]["unit"]["call_sign"]) for e in got_a] == [
        ("unit", "created", f"A1-{tag}"), ("unit", "position", f"A1-{tag}")]
    assert got_a[1]["data"]["unit"]["position"]["latitude"] == 39.93
    assert (got_b["data"]["move"], got_b["data"]["unit"]["call_sign"]) == ("created", f"B1-{tag}")


def test_only_the_topics_asked_for_are_sent(live: Served) -> None:
    after = seq(live)
    tag = live.kind[:2].upper()
    with stream(live, "op_a", f"after={after}&topics=alert") as ws:
        unit(live, f"A2-{tag}")
        alert_id = live.raise_alert("A")
        [ev] = events(ws, 1)
    assert ev["topic"] == "alert" and ev["data"]["alert"]["id"] == alert_id
    with stream(live, "op_a", f"after={after}&topics=unit") as ws:
        [ev] = events(ws, 1)  # replayed from the database
        assert (ev["topic"], ev["data"]["unit"]["call_sign"]) == ("unit", f"A2-{tag}")
        assert quiet(ws) == []  # not the alert


def test_a_field_login_gets_its_own_unit_only_also_once_linked(live: Served) -> None:
    after = seq(live)
    tag = live.kind[:2].upper()
    with stream(live, "field", f"after={after}") as ws:  # the topics it may read: unit, assignment
        unit(live, f"F1-{tag}")
        unit(live, f"F2-{tag}", field_user=f"field2-{live.kind}")
        position(live, f"F2-{tag}")
        assert quiet(ws) == []  # none of them its own
        with live.rt.sessions.begin() as s:
            version = unit_service.get_unit(session=s, actor=factories.admin(), call_sign=f"F1-{tag}")[0].version
            unit_service.update_unit(session=s, actor=factories.admin(), call_sign=f"F1-{tag}",
                                     patch=UnitPatch(version=version, field_user=f"field-{live.kind}"))
        assert quiet(ws, 2) == []  # at a heartbeat the stream looks its unit up again
        position(live, f"F1-{tag}", 39.94)
        position(live, f"F2-{tag}", 39.95)
        [ev] = events(ws, 1)
        assert (ev["topic"], ev["data"]["move"], ev["data"]["unit"]["call_sign"]) == ("unit", "position", f"F1-{tag}")
        assert quiet(ws) == []


@pytest.mark.parametrize(("who", "topics"), [("field", "incident"), ("field", "alert"), ("auditor", "unit"),
                                             ("auditor", "")])
def test_a_topic_one_may_not_read_is_refused(live: Served, who: str, topics: str) -> None:
    with pytest.raises(InvalidStatus) as err:
        stream(live, who, f"topics={topics}").close()
    assert err.value.response.status_code == 403


@pytest.mark.parametrize("topics", ["units", "unit,nope", "alert,,x", "unit," * 60])
def test_an_unknown_topic_is_refused_naming_the_field(live: Served, topics: str) -> None:
    with pytest.raises(InvalidStatus) as err:
        stream(live, "op_a", f"topics={topics}").close()
    assert err.value.response.status_code == 400
    body = json.loads(err.value.response.body or b"{}")
    assert body["error"]["fields"][0]["field"] == "topics"


def test_a_dispatch_map_is_a_console_session_and_a_field_device_is_not(live: Served) -> None:
    def open_sessions() -> int:
        with live.session() as s:
            return int(s.scalar(select(func.count()).select_from(ConsoleSession)
                                .where(ConsoleSession.closed_at.is_(None))) or 0)

    before = open_sessions()
    with stream(live, "op_a", "topics=unit,incident,assignment"):
        wait_for("the map's console session", lambda: open_sessions() == before + 1, BOUND)
        with stream(live, "field", "topics=unit") as ws:
            quiet(ws, 1)
            assert open_sessions() == before + 1
    wait_for("the sessions closed", lambda: open_sessions() == before, BOUND)


def test_a_revoked_field_login_is_cut_off(live: Served) -> None:
    with live.rt.sessions.begin() as s:
        u = factories.user(s, "field_unit", scope=["TR-99-A"])
        live.headers["revokable-field"] = {"Authorization": "Bearer " + account_service.issue_token(
            session=s, settings=live.rt.settings.security, user=u)}
        username = u.username
    with stream(live, "revokable-field", "topics=unit") as ws:
        with live.rt.sessions.begin() as s:
            account_service.revoke_tokens(session=s, actor=factories.admin(), username=username)
        with pytest.raises(ConnectionClosed) as err:
            end = time.monotonic() + BOUND
            while time.monotonic() < end:
                ws.recv(timeout=end - time.monotonic())
        assert err.value.rcvd is not None and err.value.rcvd.code == 4401
