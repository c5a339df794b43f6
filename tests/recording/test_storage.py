"""The local segment store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kgys.errors import NotFound
from kgys.recording.storage import LocalStorage, StorageError, segment_key


def test_segment_key_is_utc_date_and_hour() -> None:
    from datetime import timedelta, timezone

    local = datetime(2025, 3, 1, 2, 30, tzinfo=timezone(timedelta(hours=3)))
    assert segment_key(site_id=4, camera_id=9, start=local, filename="r1_x.ts") == "4/9/2025-02-28/23/r1_x.ts"


def test_put_get_list_delete(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "rec")
    src = tmp_path / "spool" / "a.ts"
    src.parent.mkdir()
    src.write_bytes(b"0123456789")
    key = segment_key(site_id=1, camera_id=2, start=datetime(2025, 3, 1, 8, tzinfo=UTC), filename="a.ts")
    assert store.put(key, src) == 10
    assert not src.exists()
    assert (tmp_path / "rec" / "1" / "2" / "2025-03-01" / "08" / "a.ts").exists()
    assert store.get_range(key) == b"0123456789"
    assert store.get_range(key, 3, 4) == b"3456"
    assert store.get_range(key, 8) == b"89"
    assert list(store.list()) == [key]
    assert list(store.list("1/2")) == [key]
    assert list(store.list("9")) == []
    assert store.free_space() > 0
    store.delete(key)
    store.delete(key)  # a second delete is fine
    assert list(store.list()) == []
    assert not (tmp_path / "rec" / "1").exists()  # empty directories go too
    with pytest.raises(NotFound):
        store.get_range(key)


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a/../../b", ""])
def test_bad_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).path(key)


def test_put_of_missing_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        LocalStorage(tmp_path / "rec").put("1/2/x.ts", tmp_path / "missing.ts")


def test_a_directory_removed_by_another_store_is_made_again(tmp_path: Path) -> None:
    """The retention job (another process) removes an hour's directory when it empties it; the recorder's
    next segment for that hour still goes in."""
    writer, deleter = LocalStorage(tmp_path / "rec"), LocalStorage(tmp_path / "rec")
    spool = tmp_path / "spool"
    spool.mkdir()
    for name in ("a.ts", "b.ts"):
        (spool / name).write_bytes(name.encode())
    first, second = "1/2/2025-03-01/08/a.ts", "1/2/2025-03-01/08/b.ts"
    writer.put(first, spool / "a.ts")
    deleter.delete(first)
    assert not (tmp_path / "rec" / "1").exists()
    assert writer.put(second, spool / "b.ts") == 4
    assert writer.get_range(second) == b"b.ts"
