"""The pure rules of a footage request, over tables: every state × event of the state machine, scope coverage
(narrower granted, wider refused, adjoining ranges as one), the checks of a form's ranges, the kind of a scanned
decision told by its bytes, and the percentiles of the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kgys.evidence import rules
from kgys.evidence.rules import Range

T = datetime(2025, 3, 1, 8, tzinfo=UTC)
H = timedelta(hours=1)

MOVES = {
    ("awaiting", "grant"): "granted",
    ("awaiting", "refuse"): "refused",
    ("awaiting", "expire"): "expired",
    ("granted", "approve"): "approved",
    ("granted", "withhold"): "withheld",
}


@pytest.mark.parametrize("state", rules.STATES)
@pytest.mark.parametrize("event", rules.EVENTS)
def test_the_state_machine_allows_exactly_the_listed_moves(state: str, event: str) -> None:
    assert rules.next_state(state, event) == MOVES.get((state, event))


def test_only_awaiting_and_granted_requests_move_on() -> None:
    movable = {state for state in rules.STATES if any(rules.next_state(state, e) for e in rules.EVENTS)}
    assert movable == set(rules.OPEN) == {"awaiting", "granted"}


ASKED = [Range(1, T, T + H), Range(1, T + H, T + 2 * H), Range(2, T, T + H)]


@pytest.mark.parametrize(("item", "inside"), [
    (Range(1, T, T + H), True),                                      # exactly as asked
    (Range(1, T + 10 * timedelta(minutes=1), T + 20 * timedelta(minutes=1)), True),  # narrower
    (Range(1, T + timedelta(minutes=30), T + 90 * timedelta(minutes=1)), True),      # across two adjoining asks
    (Range(1, T, T + 2 * H), True),
    (Range(1, T - timedelta(seconds=1), T + H), False),              # one second earlier than asked
    (Range(1, T, T + 2 * H + timedelta(seconds=1)), False),          # one second later
    (Range(2, T, T + 2 * H), False),                                 # camera 2 was asked for one hour only
    (Range(3, T, T + H), False),                                     # a camera not asked for
])
def test_a_grant_lies_within_what_was_asked_or_not(item: Range, inside: bool) -> None:
    assert rules.covered(ASKED, item.camera_id, item.start, item.end) is inside
    assert rules.outside([item], ASKED) == ([] if inside else [0])


def test_a_wider_grant_is_named_by_its_position() -> None:
    grant = [Range(1, T, T + H), Range(2, T, T + 3 * H)]
    errors = rules.beyond_errors(grant, ASKED)
    assert [e.field for e in errors] == ["scope[1]"]
    assert "never more" in errors[0].message and "camera 2" in errors[0].message


@pytest.mark.parametrize(("items", "fields"), [
    ([], ["scope"]),
    ([Range(1, T, T)], ["scope[0].end"]),
    ([Range(1, T, T - H)], ["scope[0].end"]),
    ([Range(1, T, T + 8 * timedelta(days=1))], ["scope[0].end"]),
    ([Range(1, T.replace(tzinfo=None), T + H)], ["scope[0].start"]),
    ([Range(1, T, T + H), Range(2, T, (T + H).replace(tzinfo=None))], ["scope[1].end"]),
    ([Range(1, T, T + H)] * (rules.MAX_ITEMS + 1), ["scope"]),
    ([Range(1, T, T + H), Range(2, T, T + 7 * timedelta(days=1))], []),
])
def test_the_ranges_of_a_form_are_checked_field_by_field(items: list[Range], fields: list[str]) -> None:
    assert [e.field for e in rules.range_errors(items)] == fields


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.7\n", "application/pdf"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b"GIF89a", None),
    (b"<svg xmlns=", None),
    (b"MZ\x90\x00", None),             # a Windows program named karar.pdf
    (b" %PDF-1.4", None),              # the magic must come first
    (b"", None),
])
def test_a_scanned_decision_is_told_by_its_first_bytes(head: bytes, kind: str | None) -> None:
    assert rules.document_type(head) == kind


@pytest.mark.parametrize(("values", "share", "want"), [
    ([], 0.5, None),
    ([5.0], 0.5, 5.0),
    ([1.0, 3.0], 0.5, 2.0),
    ([4.0, 1.0, 3.0, 2.0], 0.5, 2.5),
    ([1.0, 2.0, 3.0, 4.0, 5.0], 0.9, 4.6),
    ([1.0, 2.0, 3.0, 4.0, 5.0], 1.0, 5.0),
])
def test_percentiles(values: list[float], share: float, want: float | None) -> None:
    got = rules.percentile(values, share)
    assert got == (pytest.approx(want) if want is not None else None)
