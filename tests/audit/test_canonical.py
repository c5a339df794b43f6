"""Canonical JSON: for the values audit entries hold it is exactly RFC 8785, and normalise() maps the rest."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from kgys.audit.canonical import GENESIS_HASH, canonical_json, chain_hash, digest, normalise

MAX_SAFE = 2**53 - 1  # I-JSON integers, all RFC 8785 allows

ascii_keys = st.text(st.characters(max_codepoint=0x7F), max_size=8)
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)  # every code point but surrogates
control_text = st.text(st.characters(max_codepoint=0x3F), max_size=10)  # dense in control characters
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE, MAX_SAFE) | any_text | control_text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ascii_keys, inner, max_size=5),
    max_leaves=25,
)


@given(json_values)
def test_canonical_json_is_rfc8785(value: Any) -> None:
    assert canonical_json(normalise(value)) == rfc8785.dumps(value)


@given(json_values)
def test_normalise_leaves_json_values_alone(value: Any) -> None:
    assert normalise(value) == value


def test_canonical_json_escapes_only_what_json_must() -> None:
    value = {"b": "\x00\x1f\u007f\u2028é😀\"\\", "a": [True, None, -1]}
    assert canonical_json(value) == '{"a":[true,null,-1],"b":"\\u0000\\u001f\u007f\u2028é😀\\"\\\\"}'.encode()


def test_normalise_turns_non_json_values_into_strings() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    assert normalise(1.5) == "1.5"
    assert normalise(0.1 + 0.2) == "0.30000000000000004"  # repr round-trips, nothing is lost
    assert normalise(Decimal("12.50")) == "12.50"
    assert normalise(when) == "2025-01-02T03:04:05.600000+00:00"
    assert normalise(date(2025, 1, 2)) == "2025-01-02"
    assert normalise(("a", 1)) == ["a", 1]
    assert normalise({3, 1, 2}) == [1, 2, 3]
    assert normalise(frozenset({"b", "a"})) == ["a", "b"]
    assert normalise({1: 2.0, "x": {"y": date(2025, 1, 2)}}) == {"1": "2.0", "x": {"y": "2025-01-02"}}
    assert normalise(b"raw") == "b'raw'"
    assert normalise(True) is True and normalise(None) is None and normalise(7) == 7


def test_digest_does_not_depend_on_key_order() -> None:
    assert digest({"a": 1, "b": [1.5, "x"]}) == digest({"b": [1.5, "x"], "a": 1})
    assert digest({"a": 1}) != digest({"a": "1"})
    assert digest({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()


def test_chain_hash_covers_the_previous_hash_and_the_payload() -> None:
    payload = {"seq": 1, "action": "site.create"}
    first = chain_hash(GENESIS_HASH, payload)
    assert first == hashlib.sha256(GENESIS_HASH.encode() + b"\n" + canonical_json(payload)).hexdigest()
    assert chain_hash("1" * 64, payload) != first
    assert chain_hash(GENESIS_HASH, {**payload, "seq": 2}) != first
