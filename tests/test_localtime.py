"""Times shown and typed in the reader's zone, stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from kgys import localtime

ISTANBUL = ZoneInfo("Europe/Istanbul")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("raw", "where", "expected"), [
    ("2026-12-06T08:00", ISTANBUL, datetime(2026, 12, 6, 5, 0, tzinfo=UTC)),
    ("2026-12-06 08:00:30", ISTANBUL, datetime(2026, 12, 6, 5, 0, 30, tzinfo=UTC)),
    ("2026-12-06T08:00Z", ISTANBUL, datetime(2026, 12, 6, 8, 0, tzinfo=UTC)),
    ("2026-12-06T08:00+01:00", ISTANBUL, datetime(2026, 12, 6, 7, 0, tzinfo=UTC)),
    ("2026-07-01T12:00", BERLIN, datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
    ("2026-10-25T02:30", BERLIN, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
])
def test_a_typed_local_time_is_read_in_its_zone(raw: str, where: ZoneInfo, expected: datetime) -> None:
    assert localtime.parse_local(raw, where) == expected


@pytest.mark.parametrize("raw", ["", "yesterday", "2026-13-01T00:00", "2026-03-29T02:30"])
def test_what_is_not_a_local_time_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        localtime.parse_local(raw, BERLIN)


def test_a_stored_time_is_shown_and_offered_in_the_readers_zone() -> None:
    stored = datetime(2026, 12, 6, 5, 10, 32)  # naive: UTC as the database keeps it
    assert localtime.shown(stored, ISTANBUL) == "2026-12-06 08:10:32"
    assert localtime.picker(stored, ISTANBUL) == "2026-12-06T08:10:32"
    assert localtime.parse_local(localtime.picker(stored, ISTANBUL), ISTANBUL) == stored.replace(tzinfo=UTC)
    assert localtime.shown(None, ISTANBUL) == "–"
    assert localtime.label(ISTANBUL, stored) == "Europe/Istanbul (UTC+03:00)"
    assert localtime.offset(BERLIN, datetime(2026, 7, 1, tzinfo=UTC)) == "UTC+02:00"
    assert localtime.offset(ZoneInfo("America/St_Johns"), datetime(2026, 12, 1, tzinfo=UTC)) == "UTC-03:30"


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        localtime.zone("Mars/Olympus")


def test_a_time_inside_a_server_sentence_is_read_in_the_zone_of_the_page() -> None:
    from kgys.web import server_text

    stored = "2026-12-06T05:10:32+00:00"
    assert server_text.when(stored) == "2026-12-06 05:10:32 UTC"  # an API answer: UTC, said
    with localtime.reading_in(ISTANBUL):
        assert localtime.reader() == ISTANBUL
        assert server_text.when(stored) == "2026-12-06 08:10:32"  # a page: its reader's zone, named on the page
    assert localtime.reader() is None
