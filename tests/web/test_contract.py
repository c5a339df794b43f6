"""The OpenAPI document declares every error each operation answers, in the one error shape the API sends."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.sites import service as site_service
from kgys.web.contract import ErrorOut
from tests import factories

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def test_every_operation_declares_its_errors_with_the_error_schema(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            declared = {int(s) for s in op["responses"] if int(s) >= 400}
            assert {405, 413, 503} <= declared, where
            for status in declared:
                assert op["responses"][str(status)]["content"]["application/json"]["schema"] == ERROR_REF, where
            assert "Allow" in op["responses"]["405"]["headers"], where
            assert "Retry-After" in op["responses"]["503"]["headers"], where
            if "{" in path:
                assert 404 in declared, where
            if op.get("parameters") or op.get("requestBody"):
                assert 422 in declared, where
    public = {"POST /api/v1/auth/token", "GET /api/v1/audit/public-key", "GET /api/v1/health"}
    devices = {"POST /api/v1/kades/app/press", "POST /api/v1/kades/app/position"}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            name = f"{method.upper()} {path}"
            if name in devices:
                assert op.get("security") == [{"device": []}], name
                continue
            assert (op.get("security") == [{"bearer": []}]) is (name not in public), name
    assert "401" in doc["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "401" not in doc["paths"]["/api/v1/audit/public-key"]["get"]["responses"]
    assert "409" not in doc["paths"]["/api/v1/sites"]["get"]["responses"]
    assert "409" in doc["paths"]["/api/v1/sites"]["post"]["responses"]


def test_errors_answered_match_the_declared_schema(client: TestClient, session: Session,
                                                   token_for: Callable[[User], dict[str, str]]) -> None:
    factories.tree(session)
    headers = token_for(factories.user(session, "operator"))
    answers = [
        client.get("/api/v1/me"),  # 401
        client.get("/api/v1/users", headers=headers),  # 403
        client.get("/api/v1/sites/NOPE", headers=headers),  # 404
        client.delete("/api/v1/sites", headers=headers),  # 405
        client.get("/api/v1/sites?per_page=0", headers=headers),  # 422
        client.post("/api/v1/auth/token", content=b'{"username": "\xff"}',
                    headers={"Content-Type": "application/json"}),  # 422: not UTF-8
    ]
    assert [r.status_code for r in answers] == [401, 403, 404, 405, 422, 422]
    for r in answers:
        ErrorOut.model_validate(r.json())
        assert r.headers["content-type"] == "application/json"
    assert answers[0].headers["www-authenticate"] == "Bearer"
    assert answers[3].headers["allow"] == "GET, POST"
    assert answers[5].json()["error"]["fields"] == [{"field": "body", "message": "cannot be read: it is not UTF-8 "
                                                                                   "text"}]


def test_a_page_answers_405_with_allow_too(client: TestClient) -> None:
    r = client.delete("/login")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"


def test_a_database_that_cannot_answer_is_503_with_retry_after(
    client: TestClient, session: Session, token_for: Callable[[User], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factories.tree(session)
    headers = token_for(factories.user(session, "operator"))

    def locked(**_kw: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(site_service, "get_site", locked)
    r = client.get("/api/v1/sites/X1", headers=headers)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert ErrorOut.model_validate(r.json()).error.type == "Unavailable"
    page = client.get("/sites/X1?lang=en", headers=headers | {"Accept": "text/html"})
    assert page.status_code == 503 and "try again in a moment" in page.text
