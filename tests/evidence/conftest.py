"""The world of the evidence tests: two districts' sites with two cameras each, recorded segments on real files,
the retention job with a clock the test moves (from the recording tests), and one user of each role that takes
part in a footage request, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor
from kgys.audit.models import AuditEntry
from kgys.evidence import documents
from kgys.evidence.flows import decisions, requests
from kgys.evidence.flows.decisions import DecisionIn
from kgys.evidence.models import FootageRequest
from kgys.evidence.rules import Range
from kgys.runtime import Runtime
from tests import factories
from tests.evidence.material import built, cameras  # noqa: F401  (fixtures of the package tests)
from tests.recording.test_retention_job import T0, World, world  # noqa: F401  (fixture)

WAIT = timedelta(days=15)
PDF = b"%PDF-1.4\n% karar\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
LIMIT = 10 * 2**20


@dataclass
class Ev:
    """The recorded world and the people of a footage request."""

    w: World
    actors: dict[str, Actor] = field(default_factory=dict)

    @property
    def session(self) -> Session:
        """The test's session."""
        return self.w.session

    @property
    def now(self) -> datetime:
        """The test's clock."""
        return self.w.clock.now

    def cam(self, name: str) -> int:
        """A camera's id (a1, a2 in district TR-99-A; b1, b2 in TR-99-B)."""
        return self.w.cams[name].id

    def open(self, who: str = "inv", items: list[Range] | None = None, **kw: Any) -> FootageRequest:
        """A request by ``who`` for ``items`` (default: camera a1 over the first hour of T0)."""
        args: dict[str, Any] = {"investigation_no": "2025/123", "requesting_unit": "Merkez İlçe Emniyet",
                                "purpose": "hırsızlık soruşturması"} | kw
        return requests.open_request(session=self.session, actor=self.actors[who],
                                     items=items or [Range(self.cam("a1"), T0, T0 + timedelta(hours=1))],
                                     wait=WAIT, now=self.now, **args)

    def upload(self, content: bytes = PDF, name: str = "karar.pdf") -> documents.Upload:
        """A scanned decision received into the data directory."""
        return documents.Upload.receive(iter([content]), name=name, data_dir=self.w.rt.settings.data_dir,
                                        limit=LIMIT)

    def decide(self, request: FootageRequest, scope: list[Range] | None = None, outcome: str = "granted",
               who: str = "liaison", valid: timedelta = timedelta(days=90), content: bytes = PDF,
               **kw: Any) -> Any:
        """Record a decision on ``request`` (default: granting what it asked for, valid 90 days)."""
        if scope is None and outcome == "granted":
            scope = [Range(self.cam("a1"), T0, T0 + timedelta(hours=1))]
        data = DecisionIn(**({"outcome": outcome, "authority_kind": "court", "authority_name": "Merkez Sulh Ceza",
                              "decision_no": "2025/77 D.İş", "decision_date": date(2025, 3, 1),
                              "provision": "CMK 134", "valid_until": self.now + valid if outcome == "granted"
                              else None, "refusal_reason": "" if outcome == "granted" else "yetersiz gerekçe",
                              "scope": scope or []} | kw))
        return decisions.record_decision(session=self.session, actor=self.actors[who], request_id=request.id,
                                         data=data, upload=self.upload(content), data_dir=self.w.rt.settings.data_dir,
                                         version=None, now=self.now)

    def approve(self, request: FootageRequest, who: str = "sup", approve: bool = True, note: str = "uygun") -> Any:
        """The second person's answer."""
        return decisions.answer(session=self.session, actor=self.actors[who], request_id=request.id,
                                approve=approve, note=note, version=None, now=self.now)

    def retention(self, **kw: Any) -> int:
        """Run the retention job once (its own units of work) and return how many segments it deleted; the test's
        session is committed around it, so that the audit entries it appends follow the job's."""
        self.session.commit()
        deleted = self.w.job(**kw).run_once().deleted
        self.session.commit()
        return deleted

    def entries(self, action: str) -> list[AuditEntry]:
        """The audit entries of ``action``, oldest first."""
        return list(self.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                         .order_by(AuditEntry.seq)))


ROLES = {"inv": ("investigator", "TR-99-A"), "inv_b": ("investigator", "TR-99-B"),
         "liaison": ("judicial_liaison", "TR-99-A"), "sup": ("supervisor", "TR-99-A"),
         "sup2": ("supervisor", "TR-99-A"), "op": ("operator", "TR-99-A"), "auditor": ("auditor", "TR-99-A"),
         "admin": ("admin", "TR-99-A")}


@pytest.fixture
def ev(world: World, rt: Runtime, session: Session, tmp_path: Path) -> Iterator[Ev]:  # noqa: F811
    """The recorded world with one user of each role taking part (scoped to district TR-99-A unless named _b)."""
    e = Ev(world)
    for label, (role, scope) in ROLES.items():
        user = factories.user(session, role, scope=[scope], username=f"{label}-{role}")
        e.actors[label] = account_service.actor_for(user)
    session.flush()
    yield e
