"""Consoles' presence against a real server, on SQLite and PostgreSQL: a console whose live stream connects is on
the supervisor's board (its session touched at each heartbeat); when it disconnects it is gone, and an operator
who still holds an alert is flagged as having no console."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from kgys.alerts.models import ConsoleSession
from tests.alerts.conftest import Served
from tests.alerts.test_stream import BOUND, events, queue_seq
from tests.waiting import wait_for


def _loads(served: Served) -> dict[str, dict[str, Any]]:
    r = httpx.get(f"{served.base}/api/v1/alerts/board", headers=served.headers["admin"], timeout=BOUND)
    assert r.status_code == 200, r.text
    return {x["operator"]: x for x in r.json()["loads"]}


def _open_sessions(served: Served) -> list[ConsoleSession]:
    with served.session() as s:
        return list(s.scalars(select(ConsoleSession).where(ConsoleSession.closed_at.is_(None))))


def test_a_connected_console_is_on_the_board_until_it_disconnects(served: Served) -> None:
    assert _open_sessions(served) == []
    alert_id = served.raise_alert("A")
    with served.stream("op_a2", after=queue_seq(served, "op_a2")) as ws:
        [row] = wait_for("the console's session", lambda: _open_sessions(served), BOUND)
        who = row.username
        load = wait_for("the console on the board", lambda: _loads(served).get(who), BOUND)
        assert load["consoles"] == 1 and load["connected_since"] is not None and not load["unattended"]
        wait_for("a heartbeat to touch the session",
                 lambda: [r for r in _open_sessions(served) if r.seen_at > r.opened_at], BOUND)
        r = httpx.post(f"{served.base}/api/v1/alerts/{alert_id}/claim", json={}, headers=served.headers["op_a2"],
                       timeout=BOUND)
        assert r.status_code == 200, r.text
        events(ws, 1)  # the claim, as the console sees it
        assert _loads(served)[who]["claimed"] == 1
    wait_for("the session closed", lambda: _open_sessions(served) == [], BOUND)
    gone = _loads(served)[who]
    assert gone["consoles"] == 0 and gone["connected_since"] is None and gone["unattended"] is True
    with served.session() as s:
        closed = s.scalars(select(ConsoleSession).where(ConsoleSession.username == who)).one()
    assert closed.closed_at is not None and closed.remote.startswith("127.0.0.1:") and closed.server


def test_the_session_is_touched_while_events_keep_flowing(served: Served) -> None:
    """Alerts raised back to back leave the stream no quiet heartbeat interval: it is touched all the same."""
    with served.stream("op_a", after=queue_seq(served, "op_a")) as ws:
        [row] = wait_for("the console's session", lambda: _open_sessions(served), BOUND)

        def touched() -> bool:
            served.raise_alert("A")  # one more event, well within a heartbeat of the last
            events(ws, 1)
            with served.session() as s:
                seen = s.scalar(select(ConsoleSession.seen_at).where(ConsoleSession.id == row.id))
            return seen is not None and seen > row.seen_at

        wait_for("a touch while events flow", touched, BOUND, every=0.0)
