"""The dispatch map page and its board: the units and open incidents of the user's scope (another district's
are not there), embedded in the page with the newest event number and readable again as JSON; a field login and
a stranger to dispatch are refused. On both engines."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from kgys.accounts.models import User
from kgys.accounts.service import actor_for
from kgys.events import bus
from tests.dispatch.conftest import API, World
from tests.web.conftest import browser_login


def _operator_of(world: World, district: str) -> User:
    path = world.nodes[district].path
    return next(u for u in world.session.scalars(select(User).where(User.role == "operator").order_by(User.id))
                if actor_for(u).scope.covers_path(path) and len(actor_for(u).scope.paths) == 1)


def _embedded(html: str) -> dict[str, Any]:
    data = html.split('<script id="dispatch-data" type="application/json">')[1].split("</script>")[0]
    return dict(json.loads(data))


def test_the_page_embeds_the_board_of_the_users_scope(world: World) -> None:
    world.unit("NEAR")
    world.unit("BEE", district="TR-99-B")
    assert world.position("NEAR", 39.925).status_code == 200
    number = world.incident(world.kades_alert())["number"]
    sent = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a"], json={"unit": "NEAR"})
    assert sent.status_code == 201, sent.text
    world.session.commit()
    newest = bus.last_seq(world.session)
    world.session.commit()

    browser_login(world.client, _operator_of(world, "TR-99-A"))
    page = world.client.get("/dispatch")
    assert page.status_code == 200, page.text
    board = _embedded(page.text)
    assert board["seq"] == newest and board["stale_after_seconds"] == 300
    assert [u["call_sign"] for u in board["units"]] == ["NEAR"]
    assert board["units"][0]["status"] == "busy" and board["units"][0]["position"]["latitude"] == 39.925
    [inc] = board["incidents"]
    assert inc["number"] == number and [a["unit"] for a in inc["assignments"]] == ["NEAR"]
    assert board["texts"]["statuses"]["available"] and "tile_url" in board
    again = world.client.get("/dispatch/board.json")
    assert again.status_code == 200 and again.json()["units"] == board["units"]

    world.client.cookies.clear()
    browser_login(world.client, _operator_of(world, "TR-99-B"))
    other = _embedded(world.client.get("/dispatch").text)
    assert [u["call_sign"] for u in other["units"]] == ["BEE"] and other["incidents"] == []


def test_a_field_login_and_a_stranger_are_refused(world: World) -> None:
    browser_login(world.client, world.field_user)
    assert world.client.get("/dispatch").status_code == 403
    assert world.client.get("/dispatch/board.json").status_code == 403
    world.client.cookies.clear()
    r = world.client.get("/dispatch/board.json", follow_redirects=False)
    assert r.status_code in (303, 401)
