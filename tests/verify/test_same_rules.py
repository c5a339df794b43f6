"""kgys and kgys-verify hold the same byte rules twice (the verifier needs nothing from kgys): the same inputs give
the same canonical JSON, entry hashes, checkpoint bytes and hashes, key ids and package signed bytes, on fixed
golden vectors and on generated values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from kgys_verify import primitives as v

from kgys.audit import hashing
from kgys.audit.canonical import GENESIS_HASH, canonical_json, chain_hash, entry_payload
from kgys.audit.checkpoints import Checkpoint, as_record, message, own_hash
from kgys.audit.export import ENTRY_FIELDS
from kgys.audit.signing import Signer, checkpoint_hash, checkpoint_message, key_id
from kgys.evidence.package import PACKAGE_CONTEXT, signed_bytes

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
OPT_TEXT = st.none() | TEXT
OPT_INT = st.none() | st.integers(min_value=0, max_value=2**31)
HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda t: t.replace(tzinfo=UTC))
JSON = st.recursive(st.none() | st.booleans() | st.integers(min_value=-2**53, max_value=2**53) | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8), inner, max_size=4),
                    max_leaves=20)


def test_the_documented_entry_hashes_alike() -> None:
    """The worked example of docs/audit.md."""
    record = {"seq": 1, "ts": "2026-11-21T15:37:07.375113+00:00", "actor_id": None, "actor": "cli:root",
              "action": "jurisdiction.create", "object_type": "jurisdiction", "object_id": "TR", "site_id": None,
              "reason": None, "legal_basis": None, "before_digest": None, "after_digest": None,
              "details": '{"kind":"country"}', "prev_hash": GENESIS_HASH}
    expected = "c69e5bd2f93a333b5ee6faa04838e01f438da7d1fb654981a08fe495406e7197"
    assert v.entry_hash(record) == expected
    row = tuple(datetime.fromisoformat(record["ts"]) if f == "ts" else record.get(f) for f in ENTRY_FIELDS)
    assert hashing.slow_hash(row) == hashing.entry_hash_of(row) == expected
    assert v.GENESIS_HASH == GENESIS_HASH and tuple(v.ENTRY_FIELDS) == ENTRY_FIELDS


@settings(max_examples=300, deadline=None)
@given(seq=st.integers(min_value=1, max_value=2**40), ts=TIMES, actor_id=OPT_INT, actor=TEXT, action=TEXT,
       object_type=TEXT, object_id=TEXT, site_id=OPT_INT, reason=OPT_TEXT, legal=OPT_TEXT,
       before=st.none() | HEX, after=st.none() | HEX, details=JSON, prev=HEX)
def test_entry_hashes_agree(seq: int, ts: datetime, actor_id: int | None, actor: str, action: str, object_type: str,
                            object_id: str, site_id: int | None, reason: str | None, legal: str | None,
                            before: str | None, after: str | None, details: Any, prev: str) -> None:
    details_text = canonical_json(details).decode()
    ours = chain_hash(prev, entry_payload(seq=seq, ts=ts, actor_id=actor_id, actor=actor, action=action,
                                          object_type=object_type, object_id=object_id, site_id=site_id,
                                          reason=reason, legal_basis=legal, before_digest=before,
                                          after_digest=after, details=details_text))
    values = (seq, ts, actor_id, actor, action, object_type, object_id, site_id, reason, legal, before, after,
              details_text, prev, "")
    record = dict(zip(ENTRY_FIELDS, values, strict=True))
    record["ts"] = ts.isoformat(timespec="microseconds")
    assert v.entry_hash(record) == ours == hashing.entry_hash_of(values)


@settings(max_examples=200, deadline=None)
@given(seq=st.integers(min_value=1, max_value=2**40), entry=HEX, created=TIMES, prev=st.none() | HEX, running=HEX)
def test_checkpoint_bytes_and_hashes_agree(seq: int, entry: str, created: datetime, prev: str | None,
                                           running: str) -> None:
    cp = Checkpoint(seq, entry, created, "0123456789abcdef", "c2ln", prev)
    record = as_record(cp, own_hash(cp, running))
    assert v.checkpoint_message(record) == message(cp) == checkpoint_message(
        seq, entry, created.isoformat(timespec="microseconds"), "0123456789abcdef", prev)
    if prev is not None:
        assert v.checkpoint_hash(prev, v.checkpoint_message(record)) == own_hash(cp, running) \
            == record["checkpoint_hash"] == checkpoint_hash(prev, message(cp))


def test_a_signed_checkpoint_and_its_key_agree() -> None:
    signer = Signer(Ed25519PrivateKey.generate())
    cp = Checkpoint(9, "ab" * 32, datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=7), signer.key_id, "",
                    "cd" * 32)
    cp = cp._replace(signature=signer.sign(message(cp)))
    record = as_record(cp, own_hash(cp, GENESIS_HASH))
    assert v.key_id(signer.public) == key_id(signer.public) == signer.key_id
    assert v.signature_valid(signer.public, v.checkpoint_message(record), record["signature"])
    assert not v.signature_valid(signer.public, v.checkpoint_message({**record, "seq": 10}), record["signature"])
    assert not v.signature_valid(signer.public, b"x", "not base64!")


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10), JSON,
                             max_size=6))
def test_package_signed_bytes_agree(value: dict[str, Any]) -> None:
    assert signed_bytes(value) == v.package_message(value)
    assert v.canonical_json(value) == canonical_json(value)
    assert PACKAGE_CONTEXT == v.PACKAGE_CONTEXT
