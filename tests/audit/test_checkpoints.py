"""The pure checkpoint rules: the checkpoint chain, the witness comparison, the unsigned tail, retry waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kgys.audit.canonical import GENESIS_HASH
from kgys.audit.checkpoints import (
    Checkpoint,
    TailPolicy,
    as_record,
    chain_head,
    check_checkpoints,
    compare_with_witness,
    from_record,
    message,
    own_hash,
    tail_problems,
)
from kgys.audit.signing import Signer
from kgys.audit.witness import RetryPolicy, retry_delay
from kgys.config import AuditSettings

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SIGNER = Signer(Ed25519PrivateKey.generate())
KEY = SIGNER.public


def _sign(seq: int, prev: str | None, *, minutes: int = 0, signer: Signer = SIGNER) -> Checkpoint:
    cp = Checkpoint(seq, f"{seq:064x}", T0 + timedelta(minutes=minutes or seq), signer.key_id, "", prev)
    return cp._replace(signature=signer.sign(message(cp)))


def _chain(*seqs: int, legacy: int = 0) -> list[Checkpoint]:
    """Checkpoints at ``seqs`` chained as the service signs them; the first ``legacy`` are unchained."""
    out: list[Checkpoint] = []
    running = GENESIS_HASH
    for i, seq in enumerate(seqs):
        cp = _sign(seq, None if i < legacy else running)
        running = own_hash(cp, running)
        out.append(cp)
    return out


def _found(cps: list[Checkpoint]) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in check_checkpoints(cps, KEY, stop_at_first=False).problems]


CHAIN = _chain(10, 20, 30, 40)
LEGACY = _chain(10, 20, 30, 40, legacy=2)


@pytest.mark.parametrize(("cps", "problems"), [
    (CHAIN, []),
    (list(reversed(CHAIN)), []),  # order of the rows does not matter
    (CHAIN + CHAIN[1:2], []),  # an exact repeat (a witness line added to an export) is one checkpoint
    ([CHAIN[0], CHAIN[2], CHAIN[3]], [(30, "checkpoint")]),  # the one at 20 removed
    (CHAIN[1:], [(20, "checkpoint")]),  # the first removed
    (CHAIN[:3], []),  # the newest removed: no later checkpoint notices (the witness and the tail rule do)
    # altered: its signature fails, and the next one no longer follows it
    ([CHAIN[0], CHAIN[1]._replace(entry_hash="e" * 64), *CHAIN[2:]], [(20, "checkpoint"), (30, "checkpoint")]),
    (LEGACY, []),  # an upgraded database: the unchained run comes first and is sealed by the first chained one
    ([LEGACY[1], *LEGACY[2:]], [(30, "checkpoint")]),  # an unchained one removed: the seal breaks
    ([*CHAIN, _sign(50, None)], [(50, "checkpoint")]),  # unchained after chained ones
    (_chain(10, 20, 30, legacy=3), []),  # nothing chained yet
])
def test_the_checkpoint_chain(cps: list[Checkpoint], problems: list[tuple[int, str]]) -> None:
    assert _found(cps) == problems


def test_a_checkpoint_signed_by_another_key_is_named() -> None:
    other = Signer(Ed25519PrivateKey.generate())
    cps = [*CHAIN[:3], _sign(40, own_hash(CHAIN[2], GENESIS_HASH), signer=other)]
    assert _found(cps) == [(40, "checkpoint")]


def test_chain_head_is_the_newest_checkpoints_hash() -> None:
    assert chain_head([]) == GENESIS_HASH
    assert chain_head(CHAIN) == own_hash(CHAIN[-1], GENESIS_HASH)
    assert chain_head(LEGACY[:2]) == LEGACY[2].prev_checkpoint_hash


def test_a_record_reads_back_as_the_same_checkpoint() -> None:
    record = as_record(CHAIN[1], own_hash(CHAIN[1], GENESIS_HASH))
    assert from_record(record) == CHAIN[1]
    assert record["checkpoint_hash"] == own_hash(CHAIN[1], GENESIS_HASH)


@pytest.mark.parametrize(("stored", "held", "problems"), [
    (CHAIN, CHAIN[:2], []),  # a witness that lags behind is fine
    (CHAIN, CHAIN, []),
    (CHAIN[:2], CHAIN, [(30, "witness"), (40, "witness")]),  # checkpoints deleted from the database
    (CHAIN, [CHAIN[0], _sign(20, CHAIN[1].prev_checkpoint_hash, minutes=99)], [(20, "witness")]),  # replaced
    (CHAIN, [CHAIN[0]._replace(seq=11)], [(11, "witness")]),  # a forged witness record
    (CHAIN, [], [(0, "witness")]),  # an empty witness proves nothing
])
def test_every_checkpoint_a_witness_holds_must_be_in_the_database(
        stored: list[Checkpoint], held: list[Checkpoint], problems: list[tuple[int, str]]) -> None:
    found = compare_with_witness(stored, held, "board", KEY)
    assert [(p.seq, p.kind) for p in found] == problems


POLICY = TailPolicy(max_entries=1100, max_seconds=900)


@pytest.mark.parametrize(("last_seq", "last_cp", "age_s", "kinds"), [
    (5000, 5000, None, []),  # nothing unsigned
    (5000, 4000, 10, []),
    (5100, 4000, 10, []),  # exactly the allowed count
    (5101, 4000, 10, ["unsigned"]),
    (5000, 4000, 900, []),  # exactly the allowed age
    (5000, 4000, 901, ["unsigned"]),
    (6000, 0, 5000, ["unsigned", "unsigned"]),  # every checkpoint deleted: too many and too old
    (3, 0, 60, []),  # a new log, not yet signed
])
def test_the_unsigned_tail_rule(last_seq: int, last_cp: int, age_s: float | None, kinds: list[str]) -> None:
    since = None if age_s is None else T0 - timedelta(seconds=age_s)
    found = tail_problems(last_seq=last_seq, last_checkpoint_seq=last_cp, unsigned_since=since, now=T0, policy=POLICY)
    assert [p.kind for p in found] == kinds
    assert all(p.seq == last_cp + 1 for p in found)


def test_the_tail_allowed_is_the_checkpoint_interval_plus_its_margin() -> None:
    policy = TailPolicy.from_settings(AuditSettings(checkpoint_every_entries=1000, checkpoint_every_minutes=10,
                                                    unsigned_tail_margin_entries=100, unsigned_tail_margin_seconds=300))
    assert policy == TailPolicy(max_entries=1100, max_seconds=900)


@pytest.mark.parametrize(("attempts", "wait"), [(1, 5), (2, 10), (3, 20), (7, 320), (8, 600), (500, 600)])
def test_retry_waits_double_up_to_the_maximum(attempts: int, wait: float) -> None:
    assert retry_delay(attempts, RetryPolicy(initial_seconds=5, max_seconds=600)) == wait


def test_witness_settings_are_a_union_on_type_with_unique_names() -> None:
    audit = AuditSettings(witnesses=[{"type": "directory", "name": "disk", "path": "/srv/w"},  # type: ignore[list-item]
                                     {"type": "http", "name": "board", "url": "https://board.example/cp"}])
    assert [type(w).__name__ for w in audit.witnesses] == ["DirectoryWitnessSettings", "HttpWitnessSettings"]
    with pytest.raises(ValueError, match="name of its own"):
        AuditSettings(witnesses=[{"type": "directory", "name": "a", "path": "/x"},  # type: ignore[list-item]
                                 {"type": "directory", "name": "a", "path": "/y"}])
    with pytest.raises(ValueError):
        AuditSettings(witnesses=[{"type": "ftp", "name": "a", "path": "/x"}])  # type: ignore[list-item]
