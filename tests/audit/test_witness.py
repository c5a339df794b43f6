"""Handing signed checkpoints to witnesses: queued with the checkpoint, delivered after it, retried, in order;
and the log checked against what a real HTTP witness and a folder hold."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.audit.checkpoints import chain_head, from_record
from kgys.audit.models import WitnessDelivery
from kgys.audit.verify import read_checkpoints, verify_database
from kgys.db import utcnow
from kgys.runtime import Runtime
from tests import factories


class Board:
    """A real HTTP witness: takes POSTed records (or answers 503 while ``down``) and serves them back."""

    def __init__(self) -> None:
        self.records: list[str] = []
        self.down = False
        board = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
                if board.down or self.headers.get("Authorization") != "Bearer t0ken":
                    self.send_response(503)
                    self.end_headers()
                    return
                board.records.append(body)
                self.send_response(201)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                payload = "".join(r + "\n" for r in board.records).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/checkpoints"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def board() -> Iterator[Board]:
    """A running HTTP witness."""
    b = Board()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def witnesses(board: Board, tmp_path: Path) -> dict[str, witness_mod.Witness]:
    """A folder witness and the HTTP witness."""
    return {"disk": witness_mod.DirectoryWitness(name="disk", path=tmp_path / "disk"),
            "board": witness_mod.HttpWitness(name="board", url=board.url, headers={"Authorization": "Bearer t0ken"},
                                             timeout_seconds=5)}


def _append(session: Session, n: int) -> None:
    for i in range(n):
        audit_service.append(session, actor=factories.admin(), action="test.write", object_type="thing",
                             object_id=i)


def _signed(rt: Runtime, n: int = 3) -> int:
    """Commit ``n`` entries and a checkpoint over them, queued for both witnesses; its seq."""
    with rt.sessions.begin() as s:
        s.info[audit_service.WITNESSES_KEY] = ("disk", "board")
        _append(s, n)
        seq = audit_service.checkpoint(s, rt.signer)
    assert seq is not None
    return seq


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def test_a_checkpoint_is_queued_for_every_witness_in_its_own_transaction(rt: Runtime, session: Session) -> None:
    session.info[audit_service.WITNESSES_KEY] = ("disk", "board")
    _append(session, 3)
    with session.begin_nested() as nested:
        audit_service.checkpoint(session, rt.signer)
        assert session.scalar(select(WitnessDelivery.id).limit(1)) is not None
        nested.rollback()  # the checkpoint is rolled back: nothing may reach a witness
    assert session.scalars(select(WitnessDelivery)).all() == []
    seq = audit_service.checkpoint(session, rt.signer)
    rows = session.scalars(select(WitnessDelivery).order_by(WitnessDelivery.witness)).all()
    assert [(r.witness, r.checkpoint_seq, r.delivered_at) for r in rows] == [("board", seq, None), ("disk", seq, None)]
    record = json.loads(rows[0].payload)
    assert from_record(record) == read_checkpoints(session.connection())[0]
    assert record["checkpoint_hash"] == chain_head(read_checkpoints(session.connection()))


def test_checkpoints_reach_both_witnesses_and_verify_against_them(
        rt: Runtime, session: Session, board: Board, witnesses: dict[str, witness_mod.Witness],
        tmp_path: Path) -> None:
    first, second = _signed(rt), _signed(rt)
    done = witness_mod.deliver_pending(sessions=rt.sessions, witnesses=witnesses, retry=witness_mod.RetryPolicy())
    assert (done.delivered, done.failed) == (4, 0)
    assert [json.loads(r)["seq"] for r in board.records] == [first, second]
    lines = (tmp_path / "disk" / witness_mod.WITNESS_FILE).read_text(encoding="utf-8").splitlines()
    assert lines == board.records
    assert witness_mod.deliver_pending(sessions=rt.sessions, witnesses=witnesses,
                                       retry=witness_mod.RetryPolicy()).delivered == 0  # nothing twice
    held = {"disk": witness_mod.read_held(str(tmp_path / "disk")), "board": witness_mod.read_held(board.url)}
    conn = session.connection()
    report = verify_database(conn, rt.signer.public, witnesses=held)
    assert report.ok, report.problems
    assert report.witnessed == 4


def test_a_witness_that_is_down_gets_every_checkpoint_later_in_order(
        rt: Runtime, session: Session, board: Board, witnesses: dict[str, witness_mod.Witness]) -> None:
    retry = witness_mod.RetryPolicy(initial_seconds=60, max_seconds=600)
    board.down = True
    first = _signed(rt)
    clock = Clock()
    failed_at = clock.now
    done = witness_mod.deliver_pending(sessions=rt.sessions, witnesses=witnesses, retry=retry, clock=clock)
    assert (done.delivered, done.failed) == (1, 1)  # the folder took it; the board answered 503
    assert "503" in done.errors[0]
    second = _signed(rt)
    board.down = False
    clock.now = utcnow()  # the first is not due again yet (60 s after failing), so the second waits behind it
    assert clock.now < failed_at + timedelta(seconds=60)
    done = witness_mod.deliver_pending(sessions=rt.sessions, witnesses=witnesses, retry=retry, clock=clock)
    assert (done.delivered, done.failed) == (1, 0)  # only the folder's second record
    assert board.records == []
    owed = session.execute(select(WitnessDelivery.checkpoint_seq, WitnessDelivery.attempts, WitnessDelivery.last_error)
                           .where(WitnessDelivery.delivered_at.is_(None)).order_by(WitnessDelivery.id)).all()
    assert [(s, a) for s, a, _e in owed] == [(first, 1), (second, 0)]
    assert "503" in (owed[0][2] or "")
    assert witness_mod.pending_count(session=session, witnesses=["disk", "board"]) == 2
    # the board's records are not counted once the board is no longer configured
    assert witness_mod.pending_count(session=session, witnesses=["disk"]) == 0
    clock.now = failed_at + timedelta(seconds=61)
    done = witness_mod.deliver_pending(sessions=rt.sessions, witnesses=witnesses, retry=retry, clock=clock)
    assert (done.delivered, done.failed) == (2, 0)
    assert [json.loads(r)["seq"] for r in board.records] == [first, second]
    assert witness_mod.pending_count(session=session, witnesses=["disk", "board"]) == 0


def test_a_record_another_deliverer_holds_is_left_to_it(
        rt: Runtime, session: Session, board: Board, witnesses: dict[str, witness_mod.Witness]) -> None:
    _signed(rt)
    with rt.sessions.begin() as s:  # another deliverer claimed both records a moment ago
        s.execute(update(WitnessDelivery).values(next_attempt_at=utcnow() + timedelta(seconds=70)))
    done = witness_mod.deliver_pending(sessions=rt.sessions, witnesses=witnesses, retry=witness_mod.RetryPolicy())
    assert (done.delivered, done.failed) == (0, 0)
    assert board.records == []


def test_the_witness_catches_deleted_checkpoints_and_a_rewritten_chain(
        rt: Runtime, session: Session, board: Board, witnesses: dict[str, witness_mod.Witness]) -> None:
    first, second = _signed(rt), _signed(rt)
    witness_mod.deliver_pending(sessions=rt.sessions, witnesses=witnesses, retry=witness_mod.RetryPolicy())
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
        conn.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_entries_no_delete"))
        conn.execute(text("DROP TRIGGER audit_checkpoints_no_delete"))
    conn.execute(text("DELETE FROM audit_checkpoints WHERE seq = :s"), {"s": second})
    conn.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": first})
    assert verify_database(conn, rt.signer.public).ok  # a clean cut to a checkpoint: plain verify cannot tell
    report = verify_database(conn, rt.signer.public, witnesses={"board": witness_mod.read_held(board.url)},
                             stop_at_first=False)
    assert [(p.seq, p.kind) for p in report.problems] == [(second, "witness"), (second, "deleted")]


def test_a_witness_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        witness_mod.read_held(str(tmp_path / "nowhere"))
    (tmp_path / "bad.jsonl").write_text('{"seq": 1}\n', encoding="utf-8")
    with pytest.raises(Exception, match="row 1"):
        witness_mod.read_held(str(tmp_path / "bad.jsonl"))
