"""An object outside the caller's scope (a site, a camera, a user) is answered exactly like one that does not
exist: the same status, the same error shape and the same message (with the name the caller gave), wherever
the API names one. (Jurisdictions are the scopes themselves, not objects within them: a filter by one
outside the scope finds nothing, and adding under one is refused as not allowed.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.runtime import Runtime
from tests import factories

API = "/api/v1"
UNKNOWN = "NO-SUCH-1"


@dataclass(frozen=True)
class Case:
    """A request naming an object by ``{X}``: sent once with an object outside scope, once with none."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    role: str = "admin"


def _fill(value: Any, name: str) -> Any:
    return json.loads(json.dumps(value).replace("{X}", name))


@dataclass
class World:
    """A district administrator and operator (TR-99-A), and objects in another province (TR-98-C)."""

    headers: dict[str, dict[str, str]]
    outside: dict[str, str]


@pytest.fixture
def world(session: Session, rt: Runtime, token_for: Callable[[User], dict[str, str]]) -> World:
    factories.tree(session)
    site = factories.site(session, "TR-98-C")
    factories.compliant_system(session, rt.box, site.code)
    from kgys.cameras.models import Camera

    camera = session.query(Camera).filter(Camera.site_id == site.id).first()
    assert camera is not None
    outsider = factories.user(session, "operator", scope=["TR-98-C"])
    headers = {role: token_for(factories.user(session, role, scope=["TR-99-A"]))
               for role in ("admin", "supervisor", "commission_member")}
    return World(headers=headers, outside={"site": site.code, "camera": str(camera.id), "user": outsider.username})


CASES: dict[str, tuple[str, Case]] = {
    "a site": ("site", Case("GET", "/sites/{X}")),
    "a site's system": ("site", Case("GET", "/sites/{X}/system")),
    "a site's roll-out": ("site", Case("POST", "/sites/{X}/rollout", {"status": "planned"}, "commission_member")),
    "a site in a filter": ("site", Case("GET", "/audit?site={X}")),
    "a site in the alerts filter": ("site", Case("GET", "/alerts?site={X}")),
    "a site in the holds filter": ("site", Case("GET", "/holds?site={X}", role="supervisor")),
    "a site of a new user": ("site", Case("POST", "/users", {
        "username": "yeni.kullanici", "password": "correct-horse-42", "role": "school_admin", "sites": ["{X}"]})),
    "a user to disable": ("user", Case("POST", "/users/{X}/disable")),
    "a camera's live view": ("camera", Case("POST", "/cameras/{X}/live", {"reason": "kontrol"}, "supervisor")),
    "a camera's timeline": ("camera", Case("GET", "/cameras/{X}/timeline", role="supervisor")),
    "a camera in the holds filter": ("camera", Case("GET", "/holds?camera_id={X}", role="supervisor")),
}


def test_outside_the_scope_is_answered_as_absent(client: TestClient, world: World,
                                                 subtests: pytest.Subtests) -> None:
    for name, (kind, case) in CASES.items():
        with subtests.test(msg=name):
            outside = world.outside[kind]
            unknown = "999999" if kind == "camera" else UNKNOWN
            answers = []
            for value in (outside, unknown):
                body = _fill(case.body, value) if case.body is not None else None
                r = client.request(case.method, API + case.path.replace("{X}", value),
                                   headers=world.headers[case.role], json=body)
                assert r.status_code in (404, 422), (value, r.status_code, r.text)
                answers.append((r.status_code, r.text.replace(value, "{X}")))
            assert answers[0] == answers[1]
