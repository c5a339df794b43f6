"""Generated requests against every operation of ``/api/v1``, as several roles, on both engines.

The requests come from the app's own OpenAPI document (schemathesis, on Hypothesis), as an outside fuzzer
would send them. Every answer must be no server error and carry a status the document declares for the
operation, with the declared content type, headers and body schema; invalid input must be refused, and a
call without its token too. Every method a path does not support is tried as well (by the administrator's
run, and for every path by a plain test): 405, with ``Allow`` naming those it does.

The run is bounded and repeatable: a few examples per operation, a fixed seed, no example database. All it
writes is rolled back with the test's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.engine import events
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.models import User
from kgys.runtime import Runtime
from kgys.web.app import create_app
from tests import factories

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
          "missing_required_header", "ignored_auth", "unsupported_method", "allow_header_conformance")
ROLES = ("admin", "operator", "auditor", "school_admin")
EXAMPLES = 6  # per operation and role
# Whose run also walks the coverage phase (each parameter's boundaries, nulls, wrong types, every method a
# path does not support): the role that reaches every operation; the others only draw examples.
COVERAGE_ROLES = frozenset({"admin"})
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")


def role_user(session: Session, rt: Runtime, role: str) -> User:
    """A user of ``role`` among sites inside and outside its scope, each with a camera system."""
    factories.tree(session)
    inside = factories.site(session, "TR-99-A")
    factories.compliant_system(session, rt.box, inside.code)
    outside = factories.site(session, "TR-98-C")
    factories.compliant_system(session, rt.box, outside.code)
    if role == "admin":
        # The fuzzing administrator is a throwaway one: whatever it does to itself (disabling its own
        # account included), another administrator is still there.
        factories.user(session, "admin", scope=["TR"], username="kept-admin")
        return factories.user(session, "admin", scope=["TR"], username="fuzz-admin")
    if role == "auditor":
        return factories.user(session, "auditor", scope=["TR"])
    if role == "school_admin":
        return account_service.create_user(session=session, actor=factories.admin(), username="school-admin",
                                           password=factories.PASSWORD, role="school_admin",
                                           jurisdiction_codes=[], site_codes=[inside.code])
    return factories.user(session, role, scope=["TR-99-A"])


def fuzz(app: FastAPI, headers: dict[str, str], *, coverage: bool) -> tuple[int, list[str]]:
    """Run the generated requests against ``app``; how many were sent, and every failure found."""
    config = schemathesis.Config.from_dict({
        "seed": 20261206,
        "workers": 1,
        "headers": headers,
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": coverage}, "stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    })
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=config)
    sent = 0
    failures: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            sent += len(event.recorder.interactions)
            failures += [_describe(event.recorder, case_id, check)
                         for case_id, checks in event.recorder.checks.items()
                         for check in checks if check.failure_info is not None]
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            failures.append(f"fatal: {event.exception!r}")
    return sent, failures


def _describe(recorder: Any, case_id: str, check: Any) -> str:
    interaction = recorder.interactions.get(case_id)
    request = f"{interaction.request.method} {interaction.request.uri}" if interaction else recorder.label
    answer = interaction.response if interaction else None
    got = f" → {answer.status_code} {(answer.content or b'')[:200]!r}" if answer is not None else ""
    return f"{check.name}: {request}{got}\n    {check.failure_info.failure.title}"


@pytest.mark.parametrize("role", ROLES)
def test_generated_requests_get_the_answers_the_document_declares(
    role: str, rt: Runtime, session: Session, token_for: Callable[[User], dict[str, str]]
) -> None:
    headers = token_for(role_user(session, rt, role))
    sent, failures = fuzz(create_app(rt), headers, coverage=role in COVERAGE_ROLES)
    assert sent >= 100, f"only {sent} requests were sent"
    assert not failures, f"{len(failures)} failure(s) in {sent} requests:\n" + "\n".join(failures)


def test_every_unsupported_method_is_405_naming_the_supported_ones(
    client: TestClient, session: Session, rt: Runtime, token_for: Callable[[User], dict[str, str]]
) -> None:
    headers = token_for(role_user(session, rt, "operator"))
    doc = client.get("/api/v1/openapi.json").json()
    tried = 0
    for template, operations in doc["paths"].items():
        path = re.sub(r"\{\w+\}", "X1", re.sub(r"\{\w+_id\}", "1", template))
        declared = sorted(method.upper() for method in operations)
        for method in sorted(set(METHODS) - set(declared)):
            r = client.request(method, path, headers=headers)
            tried += 1
            assert r.status_code == 405, (method, path, r.text)
            assert sorted(m.strip() for m in r.headers["allow"].split(",")) == declared, (method, path)
            assert r.json()["error"]["type"] == "MethodNotAllowed"
    assert tried > 100
